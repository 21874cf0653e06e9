"""Incidents and maintenance windows link systems the same race-safe way: the linked rows are locked.

The link tables have no foreign-key constraint, so without the lock a system deleted between the id check
and the insert would stay linked after its tombstone was handled.
"""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from catalog.models import System
from catalog.services import system_create, system_delete
from incidents.services import incident_create
from maintenance.services import maintenance_create

ACTOR = "user:tester"


def link_incident(system_id: str) -> None:
    incident_create(title="API down", system_ids=[system_id], actor=ACTOR)


def link_window(system_id: str) -> None:
    start = timezone.now() + timedelta(hours=1)
    maintenance_create(title="Upgrade", start_at=start, end_at=start + timedelta(hours=1), system_ids=[system_id],
                       actor=ACTOR)


@pytest.mark.integration  # the PostgreSQL pass only: SQLite has no row locks to race on
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("link", [link_incident, link_window], ids=["incident", "maintenance"])
def test_a_system_delete_waits_for_the_links_being_written_to_commit(link):
    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL row locks: run it in the PostgreSQL pass of the test command")
    system = system_create(name="api", actor=ACTOR)
    order = []

    def delete():
        try:
            with transaction.atomic():
                system_delete(system=System.objects.get(pk=system.pk), actor=ACTOR)
            order.append("deleted")
        finally:
            connection.close()

    deleter = threading.Thread(target=delete)
    with transaction.atomic():
        link(str(system.pk))
        deleter.start()
        time.sleep(0.5)  # the delete is waiting on the system's row now
        order.append("linked")
    deleter.join(10)

    assert order == ["linked", "deleted"]
    assert not System.objects.filter(pk=system.pk).exists()
