"""catalog services write exactly their transitions and one change event per change."""

import pytest

from automation.entities.tracked import UntrackedWriteError
from automation.models import Transition
from catalog.models import System, SystemHealth
from catalog.services import health_report, system_create, system_delete, system_update

from .factories import ACTOR, change_events, log_size, make_system, transition_rows

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_system_create_writes_a_transition_per_field_and_one_event():
    system = system_create(name="api", description="front door", metadata={"team": "web"}, actor="user:ann")

    assert transition_rows(system.pk) == [
        ("system", "description", None, "front door", "user:ann"),
        ("system", "group_id", None, None, "user:ann"),
        ("system", "metadata", None, {"team": "web"}, "user:ann"),
        ("system", "name", None, "api", "user:ann"),
    ]
    [event] = change_events(system.pk)
    assert (event.kind, event.prev, event.actor) == ("system", None, "user:ann")
    assert event.next == event.delta == {"name": "api", "description": "front door", "metadata": {"team": "web"},
                                         "group_id": None}
    assert event.changed_fields == ["description", "group_id", "metadata", "name"]
    assert set(Transition.objects.filter(entity_id=str(system.pk)).values_list("change_id", flat=True)) == {
        event.change_id
    }


def test_system_update_writes_only_changed_fields():
    system = make_system("api", description="d")

    returned = system_update(system=system, name="api-v2", description="d", actor="user:bob")

    assert returned is system and system.name == "api-v2"
    assert transition_rows(system.pk)[4:] == [("system", "name", "api", "api-v2", "user:bob")]
    event = change_events(system.pk)[-1]
    assert event.prev == {"name": "api", "description": "d", "metadata": {}, "group_id": None}
    assert event.next == {"name": "api-v2", "description": "d", "metadata": {}, "group_id": None}
    assert (event.delta, event.changed_fields, event.actor) == ({"name": "api-v2"}, ["name"], "user:bob")


def test_system_update_with_equal_values_writes_nothing():
    system = make_system("api", metadata={"a": 1, "b": 2})
    before = log_size()

    system_update(system=system, name="api", metadata={"b": 2, "a": 1}, actor=ACTOR)

    assert log_size() == before


def test_system_update_applies_to_the_locked_row_not_a_stale_copy():
    system = make_system("api", description="old")
    stale = System.objects.get(pk=system.pk)
    system_update(system=system, description="new", actor=ACTOR)

    system_update(system=stale, name="api-v2", actor=ACTOR)

    assert System.objects.values_list("name", "description").get(pk=system.pk) == ("api-v2", "new")
    assert (stale.name, stale.description) == ("api-v2", "new")


def test_system_update_refuses_unknown_fields():
    system = make_system()
    with pytest.raises(TypeError, match="created_at"):
        system_update(system=system, created_at=None, actor=ACTOR)


def test_health_report_first_then_change():
    system = make_system()

    health_report(system=system, status="degraded", message="slow", latency_ms=900, actor="user:mon")
    health_report(system=system, status="healthy", message="slow", latency_ms=120, actor="user:mon")

    assert transition_rows(system.pk)[4:] == [
        ("health", "latency_ms", None, 900, "user:mon"),
        ("health", "message", None, "slow", "user:mon"),
        ("health", "status", None, "degraded", "user:mon"),
        ("health", "latency_ms", 900, 120, "user:mon"),
        ("health", "status", "degraded", "healthy", "user:mon"),
    ]
    first, second = change_events(system.pk, kind="health")
    assert (first.prev, first.next) == (None, {"status": "degraded", "message": "slow", "latency_ms": 900})
    assert second.delta == {"latency_ms": 120, "status": "healthy"}
    assert second.changed_fields == ["latency_ms", "status"]


def test_repeated_identical_health_report_writes_nothing():
    system = make_system()
    health_report(system=system, status="healthy", actor=ACTOR)
    before = log_size()

    health_report(system=system, status="healthy", actor=ACTOR)

    assert log_size() == before


def test_delete_writes_tombstones_for_health_then_system():
    system = make_system("api", description="d")
    health_report(system=system, status="healthy", latency_ms=5, actor=ACTOR)
    system_id = system.pk

    system_delete(system=system, actor="user:ann")

    assert transition_rows(system_id)[-7:] == [
        ("health", "latency_ms", 5, None, "user:ann"),
        ("health", "message", "", None, "user:ann"),
        ("health", "status", "healthy", None, "user:ann"),
        ("system", "description", "d", None, "user:ann"),
        ("system", "group_id", None, None, "user:ann"),
        ("system", "metadata", {}, None, "user:ann"),
        ("system", "name", "api", None, "user:ann"),
    ]
    health_tomb, system_tomb = change_events(system_id)[-2:]
    assert (health_tomb.kind, health_tomb.next, health_tomb.delta) == ("health", None, {})
    assert health_tomb.changed_fields == ["latency_ms", "message", "status"]
    assert (system_tomb.kind, system_tomb.next, system_tomb.delta) == ("system", None, {})
    assert system_tomb.prev == {"name": "api", "description": "d", "metadata": {}, "group_id": None}
    assert not System.objects.filter(pk=system_id).exists()
    assert not SystemHealth.objects.filter(pk=system_id).exists()


def test_delete_of_an_unreported_system_writes_only_its_tombstone():
    system = make_system("api")
    system_id = system.pk

    system_delete(system=system, actor=ACTOR)

    assert [(e.kind, e.next) for e in change_events(system_id)][1:] == [("system", None)]


def test_plain_delete_of_a_system_also_logs_its_health_tombstone():
    # What the Django shell does: the cascade must not remove the health row behind the log's back.
    system = make_system("api")
    health_report(system=system, status="degraded", actor=ACTOR)
    system_id = system.pk

    System.objects.get(pk=system_id).delete()

    assert [(e.kind, e.next is None) for e in change_events(system_id)] == [
        ("system", False),
        ("health", False),
        ("health", True),
        ("system", True),
    ]
    assert not SystemHealth.objects.filter(pk=system_id).exists()


def test_health_report_on_a_deleted_system_raises_and_writes_nothing():
    system = make_system()
    System.objects.get(pk=system.pk).delete()
    before = log_size()

    with pytest.raises(System.DoesNotExist):
        health_report(system=system, status="healthy", actor=ACTOR)

    assert log_size() == before


def test_writes_that_bypass_the_log_raise():
    system = make_system("api")
    health_report(system=system, status="healthy", actor=ACTOR)
    before = log_size()

    with pytest.raises(UntrackedWriteError):
        System.objects.update(name="x")
    with pytest.raises(UntrackedWriteError):
        System.objects.bulk_create([System(name="b")])
    with pytest.raises(UntrackedWriteError):
        SystemHealth.objects.update(status="unhealthy")
    with pytest.raises(UntrackedWriteError):
        SystemHealth.objects.bulk_create([SystemHealth(system=system, status="degraded")])
    with pytest.raises(UntrackedWriteError):
        System.objects.all().delete()

    assert list(System.objects.values_list("name", flat=True)) == ["api"]
    assert list(SystemHealth.objects.values_list("status", flat=True)) == ["healthy"]
    assert log_size() == before
