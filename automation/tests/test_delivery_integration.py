"""Change delivery against PostgreSQL, Redis and real Celery worker processes."""

import threading
import time
from itertools import pairwise

import pytest
from django.db import connection

from automation import tasks
from automation.models import ChangeEvent, DerivedTriggerEvent, SubscriptionDelivery, Transition
from automation.tests.support import SEEN_KEY, seen_client
from catalog.services import system_create, system_update
from testing.process_fixtures import start_beat, wait_for

pytestmark = pytest.mark.integration


def all_routed():
    return ChangeEvent.objects.exists() and not ChangeEvent.objects.filter(routed_at=None).exists()


def seen_change_ids():
    return [c.decode() for c in seen_client().lrange(SEEN_KEY, 0, -1)]


def test_committed_change_is_routed_and_delivered_by_a_worker(celery_worker):
    system = system_create(name="api", actor="user:ann")
    event = ChangeEvent.objects.get(entity_id=str(system.pk))

    wait_for(all_routed, timeout=20, what="the worker to route the change")
    wait_for(lambda: seen_change_ids() == [str(event.change_id)], timeout=20, what="the subscriber delivery")
    assert list(DerivedTriggerEvent.objects.values_list("event", flat=True)) == ["catalog.system_created"]


def test_write_succeeds_with_the_broker_down_and_is_routed_when_it_returns(celery_worker, integration, tmp_path):
    integration.stop()
    started = time.monotonic()
    system = system_create(name="written-while-redis-is-down", actor="user:ann")
    write_seconds = time.monotonic() - started

    event = ChangeEvent.objects.get(entity_id=str(system.pk))
    assert event.routed_at is None
    assert write_seconds < 10, f"the write waited {write_seconds:.1f}s on the dead broker"

    integration.start()
    beat = start_beat(tmp_path)  # its sweeper re-sends what the fast path could not
    try:
        wait_for(all_routed, timeout=60, what="the sweeper to route the change after Redis returned")
        wait_for(lambda: seen_change_ids() == [str(event.change_id)], timeout=30, what="delivery")
    finally:
        beat.stop()


def test_a_routing_message_delivered_three_times_routes_once(celery_worker, settings):
    settings.CHECKSTACK_FAST_PATH = False
    system = system_create(name="api", actor="system")
    change_id = str(ChangeEvent.objects.get(entity_id=str(system.pk)).change_id)

    for _ in range(3):
        tasks.route_change_event.delay(change_id)

    wait_for(all_routed, timeout=20, what="routing")
    wait_for(lambda: len(seen_change_ids()) >= 1, timeout=20, what="delivery")
    time.sleep(1.0)  # give the duplicates time to do harm
    assert DerivedTriggerEvent.objects.filter(change__change_id=change_id).count() == 1
    assert SubscriptionDelivery.objects.filter(change__change_id=change_id,
                                               subscriber="tests.redis_recorder").count() == 1
    assert seen_change_ids() == [change_id]


def test_fifty_threads_on_one_row_leave_a_gap_free_chain_routed_once_in_order(celery_worker):
    system = system_create(name="contended", metadata={"n": -1}, actor="system")
    errors = []

    def mutate(n):
        try:
            from catalog.models import System

            system_update(system=System.objects.get(pk=system.pk), metadata={"n": n}, actor=f"user:t{n}")
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=mutate, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    chain = list(
        Transition.objects.filter(kind="system", entity_id=str(system.pk), field="metadata")
        .order_by("id")
        .values_list("from_value", "to_value")
    )
    assert len(chain) == 51  # the create plus 50 updates
    assert chain[0] == (None, {"n": -1})
    for (_, previous_to), (from_value, _) in pairwise(chain):
        assert from_value == previous_to
    assert sorted(to["n"] for _, to in chain[1:]) == list(range(50))

    events = list(ChangeEvent.objects.filter(entity_id=str(system.pk)).order_by("id").values_list("id", "change_id"))
    wait_for(all_routed, timeout=60, what="all 51 changes routed")
    wait_for(lambda: len(seen_change_ids()) >= 51, timeout=60, what="all 51 deliveries")
    derived = list(
        DerivedTriggerEvent.objects.filter(change__entity_id=str(system.pk)).order_by("id").values_list("change_id",
                                                                                                        flat=True)
    )
    assert derived == [event_id for event_id, _ in events]  # each routed once, in commit order
    assert sorted(seen_change_ids()) == sorted(str(change_id) for _, change_id in events)
