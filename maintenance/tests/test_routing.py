"""Routing maintenance changes to trigger events, and dropping deleted systems from windows."""

from datetime import timedelta

import pytest

from automation.entities import delivery
from automation.entities.registry import registry
from automation.models import ChangeEvent, DerivedTriggerEvent, SubscriptionDelivery
from catalog.services import system_delete
from maintenance.entities import drop_deleted_system
from maintenance.models import MaintenanceSystem, MaintenanceWindow
from maintenance.services import maintenance_delete, maintenance_update

from .factories import T0, T0_ISO, T2H_ISO, events, log_counts, make_system, make_window, transitions

pytestmark = pytest.mark.django_db
SUBSCRIBER = "maintenance.drop_deleted_system"


def route_latest(entity_id, kind="maintenance"):
    event = ChangeEvent.objects.filter(kind=kind, entity_id=str(entity_id)).order_by("-id").first()
    delivery.route_change_event(str(event.change_id))
    return event


def derived(event):
    return list(DerivedTriggerEvent.objects.filter(change=event).values_list("event", "context_key", "payload"))


def test_create_and_update_route_to_maintenance_events():
    api = make_system("api")
    window = make_window(systems=[api])
    created = route_latest(window.pk)
    maintenance_update(window=window, status="in_progress", actor="user:ann")
    updated = route_latest(window.pk)

    payload = {
        "maintenance_id": str(window.pk),
        "status": "scheduled",
        "system_ids": [str(api.pk)],
        "start_at": T0_ISO,
        "end_at": T2H_ISO,
    }
    assert derived(created) == [("maintenance.created", str(window.pk), payload)]
    assert derived(updated) == [("maintenance.updated", str(window.pk), {**payload, "status": "in_progress"})]


def test_a_deleted_window_routes_no_trigger_event():
    window = make_window()
    maintenance_delete(window=window, actor="user:ann")

    tombstone = route_latest(window.pk)

    assert tombstone.next is None
    assert derived(tombstone) == []
    tombstone.refresh_from_db()
    assert tombstone.routed_at is not None


def test_the_subscriber_is_registered_as_a_work_queue_on_systems():
    subscription = registry.subscriptions[SUBSCRIBER]
    assert subscription.kind == "system"
    assert subscription.delivery == "work_queue"
    assert subscription.handler is drop_deleted_system


def test_deleting_a_system_removes_it_from_windows_once_with_a_transition():
    api, db = make_system("api"), make_system("db")
    both = make_window(systems=[api, db])
    only_api = make_window(systems=[api], start_at=T0 + timedelta(days=1))
    untouched = make_window(systems=[db])
    api_id = api.pk

    system_delete(system=api, actor="user:ann")
    # The link outlives the system until the subscriber runs: the removal is a change of its own.
    assert MaintenanceSystem.objects.filter(system_id=api_id).count() == 2
    tombstone = route_latest(api_id, kind="system")
    assert tombstone.next is None
    [pending] = SubscriptionDelivery.objects.filter(subscriber=SUBSCRIBER, change=tombstone)

    assert delivery.deliver_change(pending.id) is True

    assert transitions(both.pk)[-1] == ("system_ids", sorted([str(api_id), str(db.pk)]), [str(db.pk)], "system")
    assert transitions(only_api.pk)[-1] == ("system_ids", [str(api_id)], [], "system")
    assert len(events(untouched.pk)) == 1
    assert MaintenanceSystem.objects.filter(system_id=api_id).count() == 0
    assert MaintenanceWindow.objects.count() == 3

    # Idempotent: a redelivery is refused, and running the handler again changes nothing.
    before = log_counts()
    assert delivery.deliver_change(pending.id) is False
    drop_deleted_system(delivery.as_change(pending.change))
    assert log_counts() == before


def test_the_subscriber_ignores_non_deletions():
    api = make_system("api")
    window = make_window(systems=[api])
    before = log_counts()

    drop_deleted_system(delivery.as_change(ChangeEvent.objects.get(kind="system", entity_id=str(api.pk))))

    assert log_counts() == before
    assert MaintenanceSystem.objects.get(window=window).system_id == api.pk
