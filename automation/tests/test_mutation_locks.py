"""The mutation service's row lock on PostgreSQL: FOR NO KEY UPDATE for a write that keeps the row, so rows
being inserted that reference the entity neither wait on it nor make it wait; FOR UPDATE for a delete."""

import threading

import pytest
from django.db import OperationalError, connection, transaction

from automation.entities.mutation import entity_mutate
from automation.tests.test_routing_lock_order import in_thread
from catalog.models import System
from catalog.services import system_create, system_update
from checks.models import Check
from incidents.models import Incident, IncidentUpdate
from incidents.services import incident_create, incident_remove_system

# The PostgreSQL pass only (integration): they probe row locks from a second connection.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL: run it in the PostgreSQL pass of the test command")


def holding_a_reference(insert):
    """Run `insert` in another transaction whose foreign-key check is made at once (FOR KEY SHARE on the row
    it references, as during the commit of any such insert), and keep it open; returns release()."""
    inserted, release = threading.Event(), threading.Event()

    def writer():
        with transaction.atomic():
            # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: checked now, the lock is held from here.
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            insert()
            inserted.set()
            release.wait(30)

    thread, outcome = in_thread(writer)
    assert inserted.wait(10), outcome

    def done():
        release.set()
        thread.join(30)
        assert "error" not in outcome, outcome.get("error")

    return done


def lock_timeout(seconds: int):
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{seconds}s'")


def test_an_update_does_not_wait_on_an_insert_referencing_the_entity_and_a_delete_does():
    # Given a system, and another transaction adding a check to it, still open
    system = system_create(name="api", actor="system")
    release = holding_a_reference(lambda: Check.objects.create(
        system_id=system.pk, name="probe", kind="tcp", host="127.0.0.1", port=9, interval_seconds=30,
        timeout_seconds=2))
    try:
        with transaction.atomic():
            lock_timeout(2)
            # When the system is changed through the service: it goes through without waiting
            system_update(system=system, description="changed", actor="user:ann")
            # The test can fail: the plain FOR UPDATE the service used to take waits on the insert, and so does
            # the lock of a delete (which must: the insert references the row it would delete)
            with pytest.raises(OperationalError, match="lock timeout"), transaction.atomic():
                entity_mutate(kind="system", entity_id=system.pk, write=lambda current: current, deleting=True)
    finally:
        release()
    assert System.objects.get(pk=system.pk).description == "changed"
    assert Check.objects.filter(system_id=system.pk).count() == 1


def test_dropping_a_deleted_system_from_an_incident_does_not_wait_on_an_insert_referencing_the_incident():
    # Given an incident on two systems, and another transaction posting an update to it, still open
    first = system_create(name="api", actor="system")
    second = system_create(name="db", actor="system")
    incident = incident_create(title="down", system_ids=[first.pk, second.pk], actor="system")
    release = holding_a_reference(lambda: IncidentUpdate.objects.create(
        incident_id=incident.pk, message="looking", created_by="user:ann"))
    try:
        with transaction.atomic():
            lock_timeout(2)
            # When the deleted system's tombstone makes the incident drop it (the delete path): no wait
            incident_remove_system(incident=incident, system_id=first.pk, actor="system")
    finally:
        release()
    assert list(Incident.objects.get(pk=incident.pk).systems.values_list("pk", flat=True)) == [second.pk]
    assert IncidentUpdate.objects.filter(incident_id=incident.pk, message="looking").count() == 1
