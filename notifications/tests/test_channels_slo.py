"""`slo.status_changed` on channels: an objective's status change reaches the channels that want it, once."""

from datetime import timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from automation.entities import delivery as subscriber_delivery
from automation.models import SubscriptionDelivery
from catalog.services import system_create
from checks.slos.evaluation import slos_evaluate
from checks.tests.slo_support import NOW, checked_system, objective, results, rollup
from notifications.channels.models import ChannelDelivery
from notifications.tests.channel_support import make_channel, plan, send_due
from testing.http_receiver import Receiver

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture(autouse=True)
def local_receivers(settings):
    settings.CHECKSTACK_WEBHOOK_ALLOWLIST = ["127.0.0.1"]
    settings.CHECKSTACK_PUBLIC_URL = "https://status.example.com"


def test_an_objectives_status_change_reaches_each_channel_that_wants_it_exactly_once():
    # Given an objective with budget to spare, a channel that wants its status changes, and channels that do not
    shop, (check,) = checked_system(name="shop")
    other = system_create(name="other", actor="system")
    slo = objective(shop, window_days=30)
    rollup(check, 1, runs=1_000_000, failures=0)
    results(check, at=NOW - timedelta(hours=2), count=120, step=timedelta(minutes=1))
    with Receiver() as receiver:
        make_channel("slo hook", "webhook", {"url": receiver.url, "secret": SECRET}, events=["slo.status_changed"])
        make_channel("health only", "webhook", {"url": receiver.url, "secret": SECRET}, events=["health.changed"])
        make_channel("other system", "webhook", {"url": receiver.url, "secret": SECRET},
                     events=["slo.status_changed"], system_ids=[other.pk])
        assert send_due() == []  # its creation is no status change
        # When a failure burns the budget fast (burning), and the pass runs again without a change
        results(check, at=NOW, count=1, bad=1)
        slos_evaluate(now=NOW)
        slos_evaluate(now=NOW + timedelta(seconds=30))
        assert send_due() == ["sent"]
        # and the subscriber delivery is redelivered (a duplicated message): nothing more is owed or sent
        for pk in SubscriptionDelivery.objects.filter(subscriber="notifications.channels.slo").values_list("pk",
                                                                                                          flat=True):
            SubscriptionDelivery.objects.filter(pk=pk).update(delivered_at=None)
            subscriber_delivery.deliver_change(pk)
        assert send_due() == []
    # Then the channel that wants it got one signed message about the objective
    [request] = receiver.requests
    payload = Webhook(SECRET).verify(request["raw"], request["headers"])
    assert payload["type"] == "slo.status_changed"
    assert {k: payload["data"][k] for k in ("title", "status", "severity", "systems", "key", "resolved")} == {
        "title": "shop / avail is burning", "status": "burning", "severity": "warning", "systems": ["shop"],
        "key": f"slo:{slo.pk}", "resolved": False}
    assert [(d.channel.name, d.event, d.status) for d in ChannelDelivery.objects.select_related("channel")] == [
        ("slo hook", "slo.status_changed", "sent")]


def test_a_budget_band_change_alone_sends_nothing():
    shop, (check,) = checked_system(name="shop")
    objective(shop, window_days=7)
    rollup(check, 1, runs=10_000, failures=0)
    make_channel("slo hook", "slack", {"url": "https://hooks.example.com/a"}, events=["slo.status_changed"])
    results(check, at=NOW - timedelta(hours=10), count=1, bad=1)
    slos_evaluate(now=NOW)  # 1 of 10 allowed spent: band 90, still ok
    plan()
    assert ChannelDelivery.objects.count() == 0
