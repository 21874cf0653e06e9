"""Change derivers of `system` and `health`: exact events and payloads for each event of docs/reference.md."""

import pytest

from automation.entities.delivery import as_change
from catalog.entities import derive_health_events, derive_system_events
from catalog.services import health_report, system_delete, system_update

from .factories import ACTOR, change_events, make_system

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def derived(deriver, entity_id, kind):
    """The events `deriver` makes of the entity's latest change event."""
    change = as_change(change_events(entity_id, kind=kind)[-1])
    return [(e.event, e.payload, e.context_key) for e in deriver(change)]


def health_events(system, *reports):
    for report in reports:
        health_report(system=system, actor=ACTOR, **report)
    return derived(derive_health_events, system.pk, "health")


def payload(system, previous, new, message="", latency_ms=None):
    return {
        "system_id": str(system.pk),
        "previous_status": previous,
        "new_status": new,
        "message": message,
        "latency_ms": latency_ms,
    }


def test_first_degraded_report_is_a_health_change_and_a_degradation():
    system = make_system()
    events = health_events(system, {"status": "degraded", "message": "slow", "latency_ms": 900})

    expected = payload(system, None, "degraded", "slow", 900)
    assert events == [
        ("healthcheck.system_health_changed", expected, str(system.pk)),
        ("healthcheck.system_degraded", expected, str(system.pk)),
    ]


def test_first_unhealthy_report_is_a_degradation_too():
    system = make_system()
    events = health_events(system, {"status": "unhealthy"})

    assert [e[0] for e in events] == ["healthcheck.system_health_changed", "healthcheck.system_degraded"]
    assert events[1][1] == payload(system, None, "unhealthy")


def test_first_healthy_report_is_only_a_health_change():
    system = make_system()
    events = health_events(system, {"status": "healthy", "latency_ms": 12})

    assert events == [("healthcheck.system_health_changed", payload(system, None, "healthy", "", 12), str(system.pk))]


def test_degraded_to_healthy_is_a_recovery():
    system = make_system()
    events = health_events(system, {"status": "degraded"}, {"status": "healthy", "message": "back"})

    expected = payload(system, "degraded", "healthy", "back")
    assert events == [
        ("healthcheck.system_health_changed", expected, str(system.pk)),
        ("healthcheck.system_healthy", expected, str(system.pk)),
    ]


def test_healthy_to_healthy_with_a_new_message_fires_nothing():
    system = make_system()
    events = health_events(system, {"status": "healthy"}, {"status": "healthy", "message": "all good", "latency_ms": 3})

    assert change_events(system.pk, kind="health")[-1].changed_fields == ["latency_ms", "message"]
    assert events == []


def test_degraded_to_unhealthy_is_a_change_and_a_degradation():
    system = make_system()
    events = health_events(system, {"status": "degraded"}, {"status": "unhealthy", "message": "down"})

    expected = payload(system, "degraded", "unhealthy", "down")
    assert events == [
        ("healthcheck.system_health_changed", expected, str(system.pk)),
        ("healthcheck.system_degraded", expected, str(system.pk)),
    ]


def test_health_tombstone_fires_nothing():
    system = make_system()
    health_report(system=system, status="degraded", actor=ACTOR)
    system_id = system.pk
    system_delete(system=system, actor=ACTOR)

    assert derived(derive_health_events, system_id, "health") == []


def test_system_created_updated_deleted():
    system = make_system("api")
    system_id = str(system.pk)
    created = derived(derive_system_events, system_id, "system")
    system_update(system=system, name="api-v2", actor=ACTOR)
    updated = derived(derive_system_events, system_id, "system")
    system_delete(system=system, actor=ACTOR)
    deleted = derived(derive_system_events, system_id, "system")

    assert created == [("catalog.system_created", {"system_id": system_id, "name": "api"}, system_id)]
    assert updated == [("catalog.system_updated", {"system_id": system_id, "name": "api-v2"}, system_id)]
    # The tombstone carries the name the system had.
    assert deleted == [("catalog.system_deleted", {"system_id": system_id, "name": "api-v2"}, system_id)]


def test_impact_changed_fires_on_the_first_impact_and_on_status_changes_only():
    from catalog.dependencies import dependency_create
    from catalog.entities import derive_impact_events

    api, db, cache = make_system("api"), make_system("db"), make_system("cache")
    health_report(system=api, status="healthy", actor=ACTOR)
    assert change_events(api.pk, kind="impact") == []  # no edge: its impact is its own health, no entity
    for system in (db, cache):
        health_report(system=system, status="unhealthy", actor=ACTOR)
    dependency_create(system_id=api.pk, depends_on_id=db.pk, actor=ACTOR)
    assert derived(derive_impact_events, api.pk, "impact") == [(
        "catalog.impact_changed",
        {"system_id": str(api.pk), "previous_status": None, "new_status": "unhealthy", "impacted_by": [str(db.pk)]},
        str(api.pk))]
    written = len(change_events(api.pk, kind="impact"))
    health_report(system=api, status="degraded", actor=ACTOR)  # still unhealthy through db: no impact change
    assert len(change_events(api.pk, kind="impact")) == written

    # Still unhealthy, now because of two systems: the impact entity changes, the event does not fire.
    dependency_create(system_id=api.pk, depends_on_id=cache.pk, actor=ACTOR)
    assert change_events(api.pk, kind="impact")[-1].delta == {"impacted_by": sorted([str(db.pk), str(cache.pk)])}
    assert derived(derive_impact_events, api.pk, "impact") == []
