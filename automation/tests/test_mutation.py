"""The entity-mutation service: exact transitions and one change event per committed change."""

import pytest
from django.db import transaction

from automation.entities.actor import acting_as
from automation.entities.history import in_state_for, in_state_since, transition_count
from automation.entities.mutation import entity_mutate
from automation.entities.tracked import UntrackedWriteError
from automation.models import ChangeEvent, Transition
from catalog.models import System
from catalog.services import health_report, system_create, system_delete, system_update

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def transitions(entity_id):
    return list(
        Transition.objects.filter(entity_id=str(entity_id))
        .order_by("id")
        .values_list("kind", "field", "from_value", "to_value", "actor")
    )


def test_create_writes_a_transition_per_field_and_one_event():
    system = system_create(name="api", description="front door", metadata={"team": "x"}, actor="user:ann")

    assert transitions(system.pk) == [
        ("system", "description", None, "front door", "user:ann"),
        ("system", "group_id", None, None, "user:ann"),
        ("system", "metadata", None, {"team": "x"}, "user:ann"),
        ("system", "name", None, "api", "user:ann"),
    ]
    event = ChangeEvent.objects.get(entity_id=str(system.pk))
    assert event.prev is None
    assert event.next == {"name": "api", "description": "front door", "metadata": {"team": "x"}, "group_id": None}
    assert event.delta == event.next
    assert event.changed_fields == ["description", "group_id", "metadata", "name"]
    assert event.actor == "user:ann"
    assert event.routed_at is None
    # Every transition of the change carries the event's change id.
    assert set(Transition.objects.filter(entity_id=str(system.pk)).values_list("change_id", flat=True)) == {
        event.change_id
    }


def test_update_writes_only_changed_fields():
    system = system_create(name="api", actor="system")
    system_update(system=system, name="api-v2", description="", actor="user:bob")

    assert transitions(system.pk)[-1:] == [("system", "name", "api", "api-v2", "user:bob")]
    event = ChangeEvent.objects.filter(entity_id=str(system.pk)).order_by("-id").first()
    assert event.prev["name"] == "api" and event.next["name"] == "api-v2"
    assert event.delta == {"name": "api-v2"}
    assert event.changed_fields == ["name"]


def test_empty_diff_writes_nothing():
    system = system_create(name="api", metadata={"a": 1, "b": 2}, actor="system")
    before = (Transition.objects.count(), ChangeEvent.objects.count())

    system_update(system=system, name="api", metadata={"b": 2, "a": 1}, actor="system")

    assert (Transition.objects.count(), ChangeEvent.objects.count()) == before


def test_rolled_back_transaction_leaves_nothing():
    system = system_create(name="api", actor="system")
    before = (Transition.objects.count(), ChangeEvent.objects.count())

    with pytest.raises(RuntimeError), transaction.atomic():
        system_update(system=system, name="renamed", actor="system")
        raise RuntimeError("caller fails after the write")

    assert (Transition.objects.count(), ChangeEvent.objects.count()) == before
    assert System.objects.get(pk=system.pk).name == "api"


def test_raising_write_leaves_nothing():
    system = system_create(name="api", actor="system")
    before = (Transition.objects.count(), ChangeEvent.objects.count())

    def write(current):
        current.name = "half-done"
        current.save()
        raise ValueError("domain rule broken")

    with pytest.raises(ValueError):
        entity_mutate(kind="system", entity_id=system.pk, write=write, actor="system")

    assert (Transition.objects.count(), ChangeEvent.objects.count()) == before
    assert System.objects.get(pk=system.pk).name == "api"


def test_delete_is_a_tombstone():
    system = system_create(name="api", description="d", actor="system")
    health_report(system=system, status="healthy", actor="system")

    system_id = system.pk
    system_delete(system=system, actor="user:ann")

    tombstones = ChangeEvent.objects.filter(entity_id=str(system_id), next__isnull=True).order_by("id")
    assert [(e.kind, e.delta, sorted(e.prev), e.changed_fields) for e in tombstones] == [
        ("health", {}, ["latency_ms", "message", "status"], ["latency_ms", "message", "status"]),
        ("system", {}, ["description", "group_id", "metadata", "name"],
         ["description", "group_id", "metadata", "name"]),
    ]
    # latency_ms was null and stays null, yet a tombstone records every previous field.
    assert transitions(system_id)[-7:] == [
        ("health", "latency_ms", None, None, "user:ann"),
        ("health", "message", "", None, "user:ann"),
        ("health", "status", "healthy", None, "user:ann"),
        ("system", "description", "d", None, "user:ann"),
        ("system", "group_id", None, None, "user:ann"),
        ("system", "metadata", {}, None, "user:ann"),
        ("system", "name", "api", None, "user:ann"),
    ]
    assert not System.objects.filter(pk=system_id).exists()


def test_shell_style_save_and_delete_are_tracked():
    with acting_as("user:shell"):
        system = System(name="shell-made")
        system.save()
        system.description = "edited in the shell"
        system.save()
        system_id = system.pk
        system.delete()

    kinds = list(
        ChangeEvent.objects.filter(entity_id=str(system_id)).order_by("id").values_list("changed_fields", "actor")
    )
    assert kinds == [
        (["description", "group_id", "metadata", "name"], "user:shell"),
        (["description"], "user:shell"),
        (["description", "group_id", "metadata", "name"], "user:shell"),
    ]


def test_queryset_writes_that_bypass_the_log_raise():
    system_create(name="api", actor="system")
    with pytest.raises(UntrackedWriteError):
        System.objects.update(name="x")
    with pytest.raises(UntrackedWriteError):
        System.objects.filter(name="api").update(name="x")
    with pytest.raises(UntrackedWriteError):
        System.objects.bulk_create([System(name="b")])
    with pytest.raises(UntrackedWriteError):
        System.objects.bulk_update([System.objects.get()], ["name"])
    with pytest.raises(UntrackedWriteError):
        System.objects.all().delete()
    assert list(System.objects.values_list("name", flat=True)) == ["api"]


def test_state_history_helpers():
    system = system_create(name="api", actor="system")
    health_report(system=system, status="healthy", actor="system")
    health_report(system=system, status="degraded", actor="system")
    health_report(system=system, status="degraded", message="slow", actor="system")

    last_status_change = (
        Transition.objects.filter(kind="health", entity_id=str(system.pk), field="status").order_by("-id").first()
    )
    assert in_state_since(kind="health", entity_id=system.pk, field="status") == last_status_change.at
    assert in_state_for(kind="health", entity_id=system.pk, field="status").total_seconds() >= 0
    from datetime import timedelta

    assert transition_count(kind="health", entity_id=system.pk, field="status", window=timedelta(minutes=5)) == 2
    assert transition_count(kind="health", entity_id=system.pk, field="message", window=timedelta(minutes=5)) == 2
    assert in_state_since(kind="health", entity_id=system.pk, field="nothing") is None


def test_a_service_write_alone_takes_no_savepoint_and_one_after_other_work_does():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    system = system_create(name="api", actor="user:ann")

    # When a service's own block is the transaction, the write needs no savepoint: nothing came before it
    with CaptureQueriesContext(connection) as alone:
        system_update(system=system, description="one", actor="user:ann")
    # ... and when the caller's transaction did work first, a savepoint keeps that work from a failed write
    with transaction.atomic(), CaptureQueriesContext(connection) as after_work:
        system_create(name="other", actor="user:ann")
        system_update(system=system, description="two", actor="user:ann")

    def savepoints(captured):
        return [q["sql"] for q in captured.captured_queries if q["sql"].upper().startswith("SAVEPOINT")]

    expected = 0 if connection.vendor == "postgresql" else 1  # SQLite's atomic block always begins at once
    assert len(savepoints(alone)) == expected
    assert len(savepoints(after_work)) == 4  # each nested service's block and each write's own, as before
    assert ChangeEvent.objects.filter(entity_id=str(system.pk)).count() == 3


def test_a_failed_write_after_other_work_leaves_the_callers_transaction_usable():
    system_create(name="taken", actor="user:ann")
    other = system_create(name="free", actor="user:ann")

    with transaction.atomic():
        kept = system_create(name="kept", actor="user:ann")
        with pytest.raises(Exception, match="already exists"):
            system_update(system=other, name="taken", actor="user:ann")
        system_update(system=kept, description="still here", actor="user:ann")  # the transaction goes on

    assert System.objects.get(pk=kept.pk).description == "still here"
    assert System.objects.get(pk=other.pk).name == "free"
    assert [e.changed_fields for e in ChangeEvent.objects.filter(entity_id=str(other.pk))] == [
        ["description", "group_id", "metadata", "name"]]


def test_transaction_begun_tells_an_outermost_block_that_has_sent_nothing():
    from django.db import connection

    from automation.sql.transactions import transaction_begun

    with transaction.atomic():
        fresh = transaction_begun()
        System.objects.exists()
        after_a_read = transaction_begun()
        with transaction.atomic():
            nested = transaction_begun()
    # SQLite's atomic block begins at once, so only PostgreSQL has a block that has sent nothing
    assert (fresh, after_a_read, nested) == (connection.vendor != "postgresql", True, True)


def test_the_first_statement_of_a_transaction_goes_with_its_begin_and_fails_as_djangos():
    from django.db import DatabaseError, connection

    from automation.sql.transactions import execute

    # Given a transaction that has sent nothing yet, its first statement (pipelined with BEGIN on
    # PostgreSQL) reads as any other, and the transaction goes on after it
    with transaction.atomic(), connection.cursor() as cursor:
        execute(cursor, "SELECT 1 + %s", [1])
        assert cursor.fetchall() == [(2,)]
        system = system_create(name="after", actor="user:ann")
    assert System.objects.filter(pk=system.pk).exists()
    # ... and a failing one raises Django's error, and rolls back its transaction
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        execute(cursor, "SELECT %s FROM no_such_table", [0])
    assert System.objects.count() == 1
