"""Routing of change events: derived trigger events, subscribers, order, duplicates, the sweeper."""

from datetime import timedelta

import pytest
from django.utils import timezone

from automation.entities import delivery
from automation.entities.registry import Delivery, registry, subscribe
from automation.models import ChangeEvent, DerivedTriggerEvent, SubscriptionDelivery
from catalog.services import health_report, system_create, system_update

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture
def recorded():
    """A work_queue subscriber on `system` changes that records what it saw (and can be told to fail)."""
    seen = []
    state = {"fail": False}

    def handler(change):
        if state["fail"]:
            raise RuntimeError("receiver down")
        seen.append((change.change_id, change.changed_fields))

    subscribe("system", handler, name="tests.recorder", delivery=Delivery.WORK_QUEUE)
    yield seen, state
    registry.subscriptions.pop("tests.recorder", None)


def latest_event(entity_id):
    return ChangeEvent.objects.filter(entity_id=str(entity_id)).order_by("-id").first()


def test_routing_records_derived_events_and_marks_routed():
    system = system_create(name="api", actor="system")
    health_report(system=system, status="degraded", message="slow", actor="system")
    event = latest_event(system.pk)

    result = delivery.route_change_event(str(event.change_id))

    event.refresh_from_db()
    assert result.routed == [str(event.change_id)]
    assert event.routed_at is not None
    assert list(event.trigger_events.values_list("event", "context_key", "payload")) == [
        (
            "healthcheck.system_health_changed",
            str(system.pk),
            {
                "system_id": str(system.pk),
                "previous_status": None,
                "new_status": "degraded",
                "message": "slow",
                "latency_ms": None,
            },
        ),
        (
            "healthcheck.system_degraded",
            str(system.pk),
            {
                "system_id": str(system.pk),
                "previous_status": None,
                "new_status": "degraded",
                "message": "slow",
                "latency_ms": None,
            },
        ),
    ]


def test_duplicate_routing_routes_once():
    system = system_create(name="api", actor="system")
    change_id = str(latest_event(system.pk).change_id)

    first = delivery.route_change_event(change_id)
    second = delivery.route_change_event(change_id)

    assert first.routed == [change_id] and second.routed == []
    assert DerivedTriggerEvent.objects.filter(change__change_id=change_id).count() == 1


def test_routing_a_later_event_routes_the_earlier_ones_first_in_order():
    system = system_create(name="api", actor="system")
    system_update(system=system, description="one", actor="system")
    system_update(system=system, description="two", actor="system")
    events = list(ChangeEvent.objects.filter(entity_id=str(system.pk)).order_by("id"))

    result = delivery.route_change_event(str(events[-1].change_id))

    assert result.routed == [str(e.change_id) for e in events]
    derived = list(
        DerivedTriggerEvent.objects.filter(change__entity_id=str(system.pk)).order_by("id").values_list("change_id", "event")
    )
    assert derived == [
        (events[0].id, "catalog.system_created"),
        (events[1].id, "catalog.system_updated"),
        (events[2].id, "catalog.system_updated"),
    ]


def test_routing_an_earlier_event_leaves_later_ones_pending():
    system = system_create(name="api", actor="system")
    system_update(system=system, description="one", actor="system")
    first, second = ChangeEvent.objects.filter(entity_id=str(system.pk)).order_by("id")

    delivery.route_change_event(str(first.change_id))

    second.refresh_from_db()
    assert second.routed_at is None


def test_work_queue_subscriber_runs_once_per_change(recorded):
    seen, _ = recorded
    system = system_create(name="api", actor="system")
    change_id = str(latest_event(system.pk).change_id)

    result = delivery.route_change_event(change_id)
    delivery.route_change_event(change_id)
    [mine] = SubscriptionDelivery.objects.filter(pk__in=result.deliveries, subscriber="tests.recorder")
    ran = [delivery.deliver_change(mine.pk)]
    ran_again = [delivery.deliver_change(mine.pk)]

    assert seen == [(change_id, ["description", "group_id", "metadata", "name"])]
    assert ran == [True] and ran_again == [False]
    assert SubscriptionDelivery.objects.get(subscriber="tests.recorder").delivered_at is not None


def test_a_change_no_subscriber_wants_writes_no_delivery():
    # Given the shipped subscribers on systems, which act only on tombstones
    system = system_create(name="api", actor="system")
    created = str(latest_event(system.pk).change_id)
    system_update(system=system, name="api-2", actor="system")
    renamed = str(latest_event(system.pk).change_id)

    # When the create and the rename are routed
    result = delivery.route_change_event(renamed)

    # Then both are routed and neither costs a delivery row
    assert result.routed == [created, renamed] and result.deliveries == []
    assert not SubscriptionDelivery.objects.exists()


def test_a_tombstone_is_delivered_to_the_subscribers_that_want_it():
    from catalog.services import system_delete

    system = system_create(name="api", actor="system")
    system_id = system.pk
    system_delete(system=system, actor="system")

    result = delivery.route_change_event(str(latest_event(system_id).change_id))

    assert sorted(SubscriptionDelivery.objects.filter(pk__in=result.deliveries).values_list("subscriber", flat=True)) \
        == ["incidents.drop_deleted_system", "maintenance.drop_deleted_system"]


def test_failing_subscriber_is_recorded_and_retried(recorded):
    seen, state = recorded
    system = system_create(name="api", actor="system")
    result = delivery.route_change_event(str(latest_event(system.pk).change_id))
    [delivery_id] = [d for d in result.deliveries if SubscriptionDelivery.objects.get(pk=d).subscriber == "tests.recorder"]

    state["fail"] = True
    assert delivery.deliver_change(delivery_id) is False
    row = SubscriptionDelivery.objects.get(pk=delivery_id)
    assert (row.attempts, row.delivered_at, row.last_error) == (1, None, "RuntimeError: receiver down")

    state["fail"] = False
    assert delivery.deliver_change(delivery_id) is True
    assert len(seen) == 1
    assert SubscriptionDelivery.objects.get(pk=delivery_id).attempts == 2


def test_sweeper_resends_only_events_past_the_grace_period(settings):
    settings.CHECKSTACK_FAST_PATH = False
    system = system_create(name="api", actor="system")
    system_update(system=system, description="x", actor="system")
    other = system_create(name="db", actor="system")

    assert delivery.sweep_undelivered(grace=timedelta(minutes=5)).events_resent == 0
    # One wake-up per entity: routing the newest event routes its entity's earlier ones.
    assert delivery.sweep_undelivered(grace=timedelta(0)).events_resent == 2
    assert ChangeEvent.objects.filter(routed_at=None).count() == 3  # only woken, not routed, here
    assert other.pk


def test_sweeper_holds_back_what_it_resent_and_moves_on_past_the_oldest(settings, monkeypatch):
    settings.CHECKSTACK_FAST_PATH = False
    sent, broker_up = [], [True]
    monkeypatch.setattr(delivery, "send_wakeup", lambda task, *args: broker_up[0] and not sent.append(args[0]))
    for name in ("api", "db"):
        system_create(name=name, actor="system")
    oldest_first = [str(c) for c in ChangeEvent.objects.order_by("id").values_list("change_id", flat=True)]

    assert delivery.sweep_undelivered(grace=timedelta(0), limit=1).events_resent == 1
    assert delivery.sweep_undelivered(grace=timedelta(0), limit=1).events_resent == 1
    assert sent == oldest_first[:2]  # not the oldest twice
    assert delivery.sweep_undelivered(grace=timedelta(0)).events_resent == len(oldest_first) - 2
    assert delivery.sweep_undelivered(grace=timedelta(0)).events_resent == 0  # all held back

    ChangeEvent.objects.update(resend_after=timezone.now() - timedelta(seconds=1))
    broker_up[0] = False
    assert delivery.sweep_undelivered(grace=timedelta(0)).events_resent == 0
    broker_up[0] = True  # what could not be sent is not held back
    assert delivery.sweep_undelivered(grace=timedelta(0)).events_resent == len(oldest_first)
    held = ChangeEvent.objects.get(change_id=oldest_first[0])
    assert held.resend_after - timezone.now() > timedelta(milliseconds=500)


def test_sweeper_holds_back_a_delivery_it_resent(recorded, settings, monkeypatch):
    settings.CHECKSTACK_FAST_PATH = False
    system = system_create(name="api", actor="system")
    delivery.route_change_event(str(latest_event(system.pk).change_id))
    sent = []
    monkeypatch.setattr(delivery, "send_wakeup", lambda task, *args: not sent.append((task.name, *args)))
    pending = SubscriptionDelivery.objects.filter(delivered_at=None).count()
    assert pending >= 1
    assert delivery.sweep_undelivered(grace=timedelta(0)).deliveries_resent == pending
    assert delivery.sweep_undelivered(grace=timedelta(0)).deliveries_resent == 0
    assert [name for name, *_ in sent] == ["checkstack.deliver_change"] * pending


def test_fast_path_off_sends_no_wake_up(settings, monkeypatch):
    settings.CHECKSTACK_FAST_PATH = False
    sent = []
    monkeypatch.setattr(delivery, "send_wakeup", lambda task, *args: sent.append(args))
    system_create(name="api", actor="system")
    assert sent == []
    assert ChangeEvent.objects.filter(routed_at=None, occurred_at__lte=timezone.now()).count() == 1
