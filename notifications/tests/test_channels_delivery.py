"""Channel deliveries in-process: who is owed a message, one row per (channel, change), retries, failures."""

from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from automation.entities import delivery as subscriber_delivery
from automation.models import SubscriptionDelivery
from catalog.services import health_report, system_create
from incidents.services import incident_create, incident_resolve, incident_update
from maintenance.services import maintenance_create
from notifications.channels.models import ChannelDelivery, DeliveryStatus
from notifications.channels.sending import channel_delivery_send
from notifications.channels.services import deliveries_replay
from notifications.channels.sweeping import LOST_WORKER, channels_sweep
from notifications.tests.channel_support import make_channel, plan, send_due
from testing.http_receiver import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def local_receivers(settings):
    settings.CHECKSTACK_WEBHOOK_ALLOWLIST = ["127.0.0.1"]
    settings.CHECKSTACK_CHANNEL_RETRY_BASE_SECONDS = 10
    settings.CHECKSTACK_CHANNEL_MAX_ATTEMPTS = 3
    settings.CHECKSTACK_PUBLIC_URL = "https://status.example.com"


@pytest.fixture
def systems():
    return system_create(name="api", actor="system"), system_create(name="db", actor="system")


def rows():
    return sorted((d.channel.name, d.event, d.status) for d in ChannelDelivery.objects.select_related("channel"))


def test_each_channel_that_wants_a_change_is_owed_exactly_one_message(systems):
    api, db = systems
    make_channel("all", "slack", {"url": "https://hooks.example.com/a"})
    make_channel("api only", "discord", {"url": "https://hooks.example.com/b"}, system_ids=[api.pk])
    make_channel("db only", "discord", {"url": "https://hooks.example.com/c"}, system_ids=[db.pk])
    make_channel("resolved only", "slack", {"url": "https://hooks.example.com/d"}, events=["incident.resolved"])
    make_channel("off", "slack", {"url": "https://hooks.example.com/e"}, enabled=False)
    incident_create(title="API down", system_ids=[api.pk], actor="user:test")
    plan()
    assert rows() == [("all", "incident.created", "pending"), ("api only", "incident.created", "pending")]
    # Planning again (a redelivered subscriber message) owes nothing more.
    for pk in SubscriptionDelivery.objects.values_list("pk", flat=True):
        SubscriptionDelivery.objects.filter(pk=pk).update(delivered_at=None)
        subscriber_delivery.deliver_change(pk)
    assert ChannelDelivery.objects.count() == 2


def test_the_message_says_what_happened_to_which_systems_with_a_link(systems):
    api, db = systems
    make_channel("all", "slack", {"url": "https://hooks.example.com/a"})
    incident = incident_create(title="Checkout slow", system_ids=[api.pk, db.pk], severity="critical",
                               initial_message="Looking into it", actor="user:test")
    plan()
    message = ChannelDelivery.objects.get().message
    assert {k: message[k] for k in ("event", "title", "text", "systems", "url", "key", "severity", "resolved")} == {
        "event": "incident.created", "title": "Incident: Checkout slow", "text": "Looking into it",
        "systems": ["api", "db"], "url": f"https://status.example.com/status/incidents/{incident.pk}/",
        "key": str(incident.pk), "severity": "critical", "resolved": False}


def test_maintenance_and_health_changes_reach_the_channels_that_want_them(systems):
    api, _db = systems
    make_channel("maint", "slack", {"url": "https://hooks.example.com/a"}, events=["maintenance.scheduled"])
    make_channel("health", "slack", {"url": "https://hooks.example.com/b"}, events=["health.changed"])
    now = timezone.now()
    window = maintenance_create(title="DB upgrade", start_at=now + timedelta(hours=1),
                                end_at=now + timedelta(hours=2), system_ids=[api.pk], actor="user:test")
    health_report(system=api, status="degraded", message="slow", actor="user:test")
    plan()
    assert rows() == [("health", "health.changed", "pending"), ("maint", "maintenance.scheduled", "pending")]
    by_event = {d.event: d.message for d in ChannelDelivery.objects.all()}
    assert by_event["maintenance.scheduled"]["url"] == f"https://status.example.com/status/maintenance/{window.pk}/"
    assert by_event["health.changed"]["title"] == "api is degraded"


def test_suppress_notifications_silences_channels(systems):
    api, _db = systems
    make_channel("all", "slack", {"url": "https://hooks.example.com/a"})
    incident_create(title="quiet", system_ids=[api.pk], suppress_notifications=True, actor="user:test")
    plan()
    assert rows() == []


def test_a_receiver_that_fails_then_recovers_gets_the_message_once_more_with_the_same_id(systems):
    api, _db = systems
    with Receiver(script=[500]) as receiver:
        make_channel("ops", "slack", {"url": receiver.url})
        incident_create(title="API down", system_ids=[api.pk], actor="user:test")
        before = timezone.now()
        assert send_due() == ["pending"]
        row = ChannelDelivery.objects.get()
        assert (row.attempts, row.last_error, row.response_status) == (1, "HTTP 500:", 500)
        assert before + timedelta(seconds=9) < row.next_attempt_at < timezone.now() + timedelta(seconds=11)
        assert channel_delivery_send(delivery_id=row.pk) is None  # not due yet
        ChannelDelivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
        assert channel_delivery_send(delivery_id=row.pk) == "sent"
    keys = [r["headers"]["Idempotency-Key"] for r in receiver.requests]
    assert keys == [row.message_id, row.message_id]
    assert rows() == [("ops", "incident.created", "sent")]


def test_429_waits_as_long_as_retry_after_says(systems):
    api, _db = systems
    with Receiver(script=[(429, {"Retry-After": "42"})]) as receiver:
        make_channel("ops", "slack", {"url": receiver.url})
        incident_create(title="API down", system_ids=[api.pk], actor="user:test")
        before = timezone.now()
        assert send_due() == ["pending"]
    row = ChannelDelivery.objects.get()
    assert before + timedelta(seconds=41) < row.next_attempt_at < timezone.now() + timedelta(seconds=43)
    assert row.response_status == 429


def test_a_permanent_refusal_fails_at_once_and_an_operator_can_replay_it(systems, django_capture_on_commit_callbacks):
    api, _db = systems
    with Receiver(script=[404]) as receiver:
        make_channel("ops", "slack", {"url": receiver.url})
        incident_create(title="API down", system_ids=[api.pk], actor="user:test")
        assert send_due() == ["failed"]
        row = ChannelDelivery.objects.get()
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            assert deliveries_replay(delivery_ids=[row.pk], actor="user:ops") == [row.pk]
        assert len(callbacks) == 1
        assert send_due() == ["sent"]
    assert len(receiver.requests) == 2


def test_after_the_last_attempt_a_delivery_is_failed_with_its_error(systems):
    api, _db = systems
    with Receiver(status=503) as receiver:
        make_channel("ops", "slack", {"url": receiver.url})
        incident_create(title="API down", system_ids=[api.pk], actor="user:test")
        for expected in ["pending", "pending", "failed"]:
            ChannelDelivery.objects.update(next_attempt_at=timezone.now())
            assert send_due() == [expected]
    row = ChannelDelivery.objects.get()
    assert (row.status, row.attempts, row.last_error) == ("failed", 3, "HTTP 503:")
    assert len(receiver.requests) == 3


def test_a_hanging_service_is_cut_by_the_deadline(systems, settings):
    settings.CHECKSTACK_CHANNEL_TIMEOUT_SECONDS = 1
    api, _db = systems
    with Receiver(trickle_seconds=5) as receiver:
        make_channel("ops", "slack", {"url": receiver.url})
        incident_create(title="API down", system_ids=[api.pk], actor="user:test")
        started = timezone.now()
        assert send_due() == ["pending"]
        assert timezone.now() - started < timedelta(seconds=3)
    assert ChannelDelivery.objects.get().last_error.startswith("deadline exceeded")


def test_the_sweeper_takes_back_a_lost_workers_claim(systems, settings):
    api, _db = systems
    make_channel("ops", "slack", {"url": "https://hooks.example.com/a"})
    incident_create(title="API down", system_ids=[api.pk], actor="user:test")
    plan()
    ChannelDelivery.objects.update(status=DeliveryStatus.SENDING, attempts=1,
                                   claimed_at=timezone.now() - timedelta(minutes=5))
    result = channels_sweep()
    assert (result.recovered, result.failed, result.woken) == (1, 0, 1)
    row = ChannelDelivery.objects.get()
    assert (row.status, row.last_error) == ("pending", LOST_WORKER)


def test_pagerduty_triggers_and_resolves_with_the_incident_id_as_dedup_key(systems):
    api, _db = systems
    with Receiver(status=202) as receiver:
        make_channel("pager", "pagerduty", {"url": receiver.url, "routing_key": "R0123456789abcdef"},
                     events=["incident.created", "incident.resolved"])
        incident = incident_create(title="API down", system_ids=[api.pk], severity="critical", actor="user:test")
        assert send_due() == ["sent"]
        incident_update(incident=incident, severity="minor", actor="user:test")  # no channel event
        incident_resolve(incident=incident, actor="user:test")
        assert send_due() == ["sent"]
    bodies = [r["body"] for r in receiver.requests]
    assert [(b["event_action"], b["dedup_key"], b["routing_key"]) for b in bodies] == [
        ("trigger", str(incident.pk), "R0123456789abcdef"), ("resolve", str(incident.pk), "R0123456789abcdef")]
    assert bodies[0]["payload"]["severity"] == "critical"


def test_a_signed_webhook_verifies_with_the_standard_webhooks_library(systems):
    api, _db = systems
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    with Receiver() as receiver:
        make_channel("hook", "webhook", {"url": receiver.url, "secret": secret})
        incident_create(title="API down", system_ids=[api.pk], actor="user:test")
        assert send_due() == ["sent"]
    request = receiver.requests[0]
    payload = Webhook(secret).verify(request["raw"], request["headers"])
    assert payload["type"] == "incident.created"
    assert payload["data"]["title"] == "Incident: API down"
    assert request["headers"]["webhook-id"] == ChannelDelivery.objects.get().message_id


@pytest.mark.parametrize("kind, config, path, check", [
    ("telegram", {"bot_token": "123:abc", "chat_id": "42"}, "/bot123:abc/sendMessage",
     lambda body, headers: body["chat_id"] == "42" and "<b>Incident: API down</b>" in body["text"]),
    ("opsgenie", {"api_key": "key-1"}, "/v2/alerts",
     lambda body, headers: headers["Authorization"] == "GenieKey key-1" and body["alias"]),
    ("ntfy", {"topic": "alerts", "token": "tk"}, "/",
     lambda body, headers: headers["Authorization"] == "Bearer tk" and body["topic"] == "alerts"),
    ("mattermost", {"channel": "town-square"}, "/hook",
     lambda body, headers: body["channel"] == "town-square" and "Incident: API down" in body["text"]),
    ("teams", {}, "/hook",
     lambda body, headers: body["attachments"][0]["content"]["type"] == "AdaptiveCard"),
    ("discord", {}, "/hook", lambda body, headers: body["embeds"][0]["title"] == "Incident: API down"),
])
def test_each_kind_posts_its_services_format_to_its_endpoint(systems, kind, config, path, check):
    api, _db = systems
    with Receiver() as receiver:
        base = receiver.url.removesuffix("/hook")
        url = receiver.url if kind in ("mattermost", "teams", "discord") else base + ("/" if kind == "ntfy" else "")
        make_channel("c", kind, {**config, "url": url})
        incident_create(title="API down", system_ids=[api.pk], actor="user:test")
        assert send_due() == ["sent"]
    request = receiver.requests[0]
    assert request["path"] == path
    assert check(request["body"], request["headers"])


def test_opsgenie_closes_the_alert_on_resolve(systems):
    api, _db = systems
    with Receiver(status=202) as receiver:
        make_channel("og", "opsgenie", {"url": receiver.url.removesuffix("/hook"), "api_key": "k"})
        incident = incident_create(title="API down", system_ids=[api.pk], actor="user:test")
        incident_resolve(incident=incident, actor="user:test")
        assert send_due() == ["sent", "sent"]
    assert [r["path"] for r in receiver.requests] == [
        "/v2/alerts", f"/v2/alerts/{incident.pk}/close?identifierType=alias"]


def test_an_email_channel_mails_its_addresses(systems, mailoutbox):
    api, _db = systems
    make_channel("mail", "email", {"addresses": ["Ops@Example.com"]})
    incident_create(title="API down", system_ids=[api.pk], actor="user:test")
    assert send_due() == ["sent"]
    assert [(m.to, m.subject) for m in mailoutbox] == [(["ops@example.com"], "Incident: API down")]
    assert "Systems: api" in mailoutbox[0].body


def test_a_group_covers_its_systems_including_one_added_later(systems):
    from catalog.groups import group_create, group_set_systems

    api, db = systems
    payments = group_create(name="Payments", actor="user:test")
    group_set_systems(group=payments, system_ids=[api.pk], actor="user:test")
    make_channel("payments", "slack", {"url": "https://hooks.example.com/a"}, group_ids=[payments.pk],
                 events=["incident.created"])
    incident_create(title="db only", system_ids=[db.pk], actor="user:test")
    plan()
    assert rows() == []
    group_set_systems(group=payments, system_ids=[api.pk, db.pk], actor="user:test")  # db joins later
    incident_create(title="db again", system_ids=[db.pk], actor="user:test")
    plan()
    assert rows() == [("payments", "incident.created", "pending")]


def test_an_impact_change_is_impact_changed(systems):
    from catalog.dependencies import dependency_create

    api, db = systems
    dependency_create(system_id=api.pk, depends_on_id=db.pk, actor="user:test")
    make_channel("impact", "slack", {"url": "https://hooks.example.com/a"}, events=["impact.changed"],
                 system_ids=[api.pk])
    plan()
    health_report(system=db, status="unhealthy", actor="user:test")  # api is impacted through its dependency
    plan()
    assert rows() == [("impact", "impact.changed", "pending")]
    assert ChannelDelivery.objects.get().message["title"] == "api is unhealthy (affected by db)"


def test_failed_deliveries_are_counted_in_metrics_and_healthz(systems, client):
    api, _db = systems
    with Receiver(status=400) as receiver:
        make_channel("ops", "slack", {"url": receiver.url})
        make_channel("other", "slack", {"url": receiver.url + "/2"}, events=["incident.resolved"])
        incident_create(title="API down", system_ids=[api.pk], actor="user:test")
        assert send_due() == ["failed"]
    lines = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode().splitlines()
    assert 'checkstack_channel_deliveries{status="failed"} 1.0' in lines
    assert 'checkstack_channel_deliveries{status="pending"} 0.0' in lines
    body = client.get("/healthz").json()
    assert (body["channel_deliveries_failed"], body["channel_deliveries_pending"]) == (1, 0)


def test_a_channel_sends_one_message_at_a_time_oldest_first(systems, django_capture_on_commit_callbacks):
    api, _db = systems
    with Receiver(status=202) as receiver:
        make_channel("pager", "pagerduty", {"url": receiver.url, "routing_key": "R0123456789abcdef"})
        incident = incident_create(title="API down", system_ids=[api.pk], actor="user:test")
        incident_resolve(incident=incident, actor="user:test")
        plan()
        trigger, resolve = ChannelDelivery.objects.order_by("id")
        ChannelDelivery.objects.filter(pk=trigger.pk).update(status=DeliveryStatus.SENDING,
                                                             claimed_at=timezone.now())
        assert channel_delivery_send(delivery_id=resolve.pk) is None  # the trigger is in flight: wait
        ChannelDelivery.objects.filter(pk=trigger.pk).update(status=DeliveryStatus.PENDING)
        # Woken for the resolve, the worker sends the channel's oldest message: the trigger.
        assert channel_delivery_send(delivery_id=resolve.pk) == "sent"
        assert channel_delivery_send(delivery_id=resolve.pk) == "sent"
    assert [r["body"]["event_action"] for r in receiver.requests] == ["trigger", "resolve"]


def test_the_sweeper_wakes_only_each_idle_channels_oldest_due_message(systems):
    api, _db = systems
    idle = make_channel("idle", "slack", {"url": "https://hooks.example.com/a"})
    busy = make_channel("busy", "slack", {"url": "https://hooks.example.com/b"})
    for title in ("one", "two"):
        incident_create(title=title, system_ids=[api.pk], actor="user:test")
    plan()
    past = timezone.now() - timedelta(minutes=1)
    ChannelDelivery.objects.update(next_attempt_at=past)
    oldest_busy = ChannelDelivery.objects.filter(channel=busy).order_by("id").first()
    ChannelDelivery.objects.filter(pk=oldest_busy.pk).update(status=DeliveryStatus.SENDING, claimed_at=timezone.now())
    from notifications.channels.sweeping import _due_heads

    assert _due_heads(timezone.now(), 500) == [ChannelDelivery.objects.filter(channel=idle).order_by("id").first().pk]


def test_an_entitys_changes_are_planned_in_order_whichever_delivery_runs_first(systems):
    api, _db = systems
    make_channel("pager", "pagerduty", {"url": "https://events.example.com/v2/enqueue",
                                        "routing_key": "R0123456789abcdef"})
    incident = incident_create(title="API down", system_ids=[api.pk], actor="user:test")
    incident_resolve(incident=incident, actor="user:test")
    from automation.entities.delivery import route_change_event
    from automation.models import ChangeEvent

    for change_id in ChangeEvent.objects.order_by("id").values_list("change_id", flat=True):
        route_change_event(str(change_id))
    created, resolved = SubscriptionDelivery.objects.filter(
        subscriber="notifications.channels.incident").order_by("change_id")
    subscriber_delivery.deliver_change(resolved.pk)  # the resolve's delivery runs first
    subscriber_delivery.deliver_change(created.pk)
    assert list(ChannelDelivery.objects.order_by("id").values_list("event", flat=True)) == [
        "incident.created", "incident.resolved"]
