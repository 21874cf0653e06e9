"""Routing's row locks on PostgreSQL (docs/operations.md, Parked changes): the automation lock of a firing never waits
on step writes, and routing takes an automation's rows in the order deleting it does, so they cannot deadlock."""

import threading

import pytest
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from automation.engine.firing.listeners import automations_locked
from automation.entities.delivery import route_change_event
from automation.models import Automation, ChangeEvent, Run, RunStatus, Wait, WaitRead, WindowHit
from automation.services.automations import automation_delete
from automation.tests.engine_support import make_automation
from automation.tests.test_engine_waiting import note, start
from catalog.services import system_create
from incidents.services import incident_create, incident_resolve
from testing.lock_waits import backend_pid, wait_until_waiting_on_lock

# The PostgreSQL pass only (integration): they probe row locks from a second connection.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL: run it in the PostgreSQL pass of the test command")


def in_thread(target):
    """Run `target` in a thread with its own connection; returns (thread, outcome dict: pid, error)."""
    outcome = {}

    def body():
        try:
            outcome["pid"] = backend_pid()
            target()
        except BaseException as exc:  # noqa: BLE001 - asserted by the test
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=body)
    thread.start()
    return thread, outcome


def wait_for_pid(outcome):
    for _ in range(1000):
        if "pid" in outcome or "error" in outcome:
            return outcome.get("pid")
        threading.Event().wait(0.01)
    raise AssertionError("thread did not start")


def test_a_firings_automation_lock_does_not_wait_on_a_step_write_in_progress(journal):
    # Given an automation, and another transaction inserting a row that references it (as a worker writing a
    # run's window hit, step or artifact does: FOR KEY SHARE on the automation row), still open
    automation = make_automation({"name": "a", "triggers": [{"event": "automation.manual"}],
                                  "actions": [{"action": "test.note", "config": {"text": "x"}}]})
    inserted, release = threading.Event(), threading.Event()

    def writer():
        with transaction.atomic():
            # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: checked (the row locked) at commit.
            # Checked now, the lock is held from here, as during the commit of any such write.
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            WindowHit.objects.create(automation_id=automation.pk, trigger_id="t", partition_key="p", at=timezone.now())
            inserted.set()
            release.wait(30)

    thread, outcome = in_thread(writer)
    try:
        assert inserted.wait(10)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            # The test can fail: the plain FOR UPDATE the firing lock used to be waits on the insert ...
            table = Automation._meta.db_table
            with pytest.raises(OperationalError, match="lock timeout"), transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(f"SELECT id FROM {table} WHERE id = %s FOR UPDATE", [automation.pk])
            # ... while routing's own lock of the automation (Stage 1, and Stage 2's re-read) does not.
            assert list(automations_locked({automation.pk})) == [automation.pk]
    finally:
        release.set()
        thread.join(30)
    assert "error" not in outcome


def test_routing_a_wait_of_a_run_and_deleting_its_automation_take_locks_in_one_order(journal):
    """Deleting an automation locks it, then its runs, then its cascade deletes their waits; routing that
    resolves a wait locked the wait and then its run (one statement, in that order). Interleaved, each waited
    on the other: a deadlock (40P01), one side rolled back."""
    # Given a run waiting for its incident's resolution, whose wait has a read row, and the resolution committed
    system = system_create(name="api", actor="system")
    incident = incident_create(title="down", system_ids=[system.pk], actor="system")
    run = start([{"wait_for_trigger": {"event": "incident.resolved"}}, note("after")],
                payload={"incident_id": str(incident.pk)})
    assert run.status == RunStatus.WAITING
    wait = Wait.objects.get(run=run)
    read = WaitRead.objects.create(wait=wait, kind="system", entity_id=str(system.pk))
    route_change_event(str(ChangeEvent.objects.order_by("-id").first().change_id))  # route what came before
    incident_resolve(incident=incident, actor="user:ann")
    resolved = ChangeEvent.objects.order_by("-id").first()
    automation = Automation.objects.get(pk=run.automation_id)

    with transaction.atomic():
        # A third transaction holds the wait's read row: the delete stops in its cascade, its automation and
        # runs locked, before it reaches the wait.
        list(WaitRead.objects.select_for_update().filter(pk=read.pk))
        deleting, deleted = in_thread(lambda: automation_delete(automation=automation, actor="user:ann"))
        wait_until_waiting_on_lock(wait_for_pid(deleted), timeout=20)
        # When routing resolves the wait meanwhile (it waits on the delete's locks)
        routing, routed = in_thread(lambda: routed.update(result=route_change_event(str(resolved.change_id))))
        wait_until_waiting_on_lock(wait_for_pid(routed), timeout=20)
    # and the third transaction ends: the delete goes on to the wait
    deleting.join(30), routing.join(30)

    # Then neither was rolled back as a deadlock victim: the automation is gone, the change routed
    assert "error" not in deleted, deleted.get("error")
    assert "error" not in routed, routed.get("error")
    assert not Automation.objects.filter(pk=automation.pk).exists() and not Run.objects.filter(pk=run.pk).exists()
    resolved.refresh_from_db()
    assert resolved.routed_at is not None
