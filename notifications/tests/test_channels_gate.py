"""Routing writes a channel delivery only for a change some enabled channel listens to, asked in one statement."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from automation.entities.delivery import as_change
from automation.models import ChangeEvent, SubscriptionDelivery
from catalog.services import health_report, system_create
from notifications.channels.models import ChannelDelivery
from notifications.channels.planning import wanted
from notifications.channels.services import channel_delete, channel_update
from notifications.tests.channel_support import make_channel, plan

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
HOOK = {"url": "https://hooks.example.com/a"}


def channel_rows():
    return list(SubscriptionDelivery.objects.filter(subscriber__startswith="notifications.channels.")
                .values_list("subscriber", flat=True))


def test_a_health_change_no_enabled_channel_listens_to_writes_no_delivery():
    # Given channels that do not listen to health changes: one for incidents, one disabled
    api = system_create(name="api", actor="system")
    make_channel("incidents", "slack", HOOK, events=["incident.created"])
    off = make_channel("off", "slack", HOOK, events=["health.changed"], enabled=False)
    # When the system's health changes
    health_report(system=api, status="degraded", actor="user:test")
    plan()
    # Then routing wrote no channel delivery
    assert channel_rows() == []
    # And once the channel is enabled, the next change is owed to it
    channel_update(channel=off, enabled=True, actor="user:test")
    health_report(system=api, status="unhealthy", actor="user:test")
    plan()
    assert channel_rows() == ["notifications.channels.health"]
    assert [(d.channel.name, d.message["status"]) for d in ChannelDelivery.objects.select_related("channel")] == [
        ("off", "unhealthy")]
    # And once it is deleted, nothing more
    channel_delete(channel=off, actor="user:test")
    health_report(system=api, status="healthy", actor="user:test")
    plan()
    assert channel_rows() == ["notifications.channels.health"]


def test_the_gate_costs_one_statement_for_a_channel_event_and_none_for_other_changes():
    api = system_create(name="api", actor="system")
    make_channel("health", "slack", HOOK, events=["health.changed"])
    health_report(system=api, status="degraded", actor="user:test")
    health_change = as_change(ChangeEvent.objects.filter(kind="health").get())
    system_change = as_change(ChangeEvent.objects.filter(kind="system").first())

    with CaptureQueriesContext(connection) as queries:
        assert wanted(health_change) is True
    assert len(queries) == 1
    with CaptureQueriesContext(connection) as queries:
        assert wanted(system_change) is False
    assert len(queries) == 0
