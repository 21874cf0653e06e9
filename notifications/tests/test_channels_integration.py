"""Channels against local servers imitating each service, with PostgreSQL, Redis, real workers and beat.

Several workers route and deliver an incident's life (created, updated, resolved) to channels that want
parts of it: each wanted change arrives once per channel, unwanted ones never; a receiver that fails (500,
then 429 with Retry-After) gets the message once it recovers; PagerDuty's trigger and resolve share the
incident's id as dedup key; a receiver that hangs is cut by the deadline and fails visibly without holding
the others up. Then a worker is killed mid-send: the message still arrives, at most once more, with the
same idempotency header.
"""

import pytest

from catalog.services import system_create
from incidents.services import incident_create, incident_resolve, incident_update
from notifications.channels.models import ChannelDelivery
from notifications.tests.channel_support import make_channel
from testing.http_receiver import Receiver
from testing.process_fixtures import start_beat, start_worker, start_workers, wait_for

pytestmark = pytest.mark.integration

ENV = {"CHECKSTACK_WEBHOOK_ALLOWLIST": "127.0.0.1", "CHECKSTACK_SWEEP_INTERVAL_SECONDS": "1",
       "CHECKSTACK_CHANNEL_RETRY_BASE_SECONDS": "1", "CHECKSTACK_CHANNEL_MAX_ATTEMPTS": "3",
       "CHECKSTACK_CHANNEL_TIMEOUT_SECONDS": "1.5"}
INCIDENT_EVENTS = ["incident.created", "incident.updated", "incident.resolved"]


def statuses() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, status in ChannelDelivery.objects.order_by("created_at").values_list("channel__name", "status"):
        out.setdefault(name, []).append(status)
    return out


def test_each_wanted_change_reaches_each_channel_once_with_several_workers(integration, tmp_path, settings):
    settings.CHECKSTACK_WEBHOOK_ALLOWLIST = ["127.0.0.1"]
    workers = start_workers(tmp_path, ["w1", "w2"], **ENV)
    beat = start_beat(tmp_path, **ENV)
    try:
        with Receiver() as chat, Receiver(status=202) as pager, Receiver() as other, \
                Receiver(script=[500, (429, {"Retry-After": "1"})]) as flaky, Receiver(trickle_seconds=20) as hanging:
            api, db = system_create(name="api", actor="system"), system_create(name="db", actor="system")
            make_channel("chat", "slack", {"url": chat.url}, events=INCIDENT_EVENTS)
            make_channel("pager", "pagerduty", {"url": pager.url, "routing_key": "R0123456789abcdef"},
                         events=["incident.created", "incident.resolved"])
            make_channel("db only", "discord", {"url": other.url}, system_ids=[db.pk], events=INCIDENT_EVENTS)
            make_channel("flaky", "webhook", {"url": flaky.url, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
                         events=["incident.created"])
            make_channel("hanging", "mattermost", {"url": hanging.url}, events=["incident.created"])

            incident = incident_create(title="API down", system_ids=[api.pk], actor="user:test")
            incident_update(incident=incident, status="identified", actor="user:test")
            incident_resolve(incident=incident, actor="user:test")
            incident_create(title="muted", system_ids=[api.pk], suppress_notifications=True, actor="user:test")

            expected = {"chat": ["sent"] * 3, "pager": ["sent"] * 2, "flaky": ["sent"], "hanging": ["failed"]}
            wait_for(lambda: statuses() == expected, timeout=90, what=f"deliveries {expected}")

        assert [r["body"]["text"].splitlines()[0] for r in chat.requests] == [
            "Incident: API down", "Incident update (identified): API down", "Resolved: API down"]
        assert len({r["headers"]["Idempotency-Key"] for r in chat.requests}) == 3
        assert [(r["body"]["event_action"], r["body"]["dedup_key"]) for r in pager.requests] == [
            ("trigger", str(incident.pk)), ("resolve", str(incident.pk))]
        assert other.requests == []
        # Failed, rate limited, then delivered: three requests of one message (one id).
        assert len(flaky.requests) == 3
        assert len({r["headers"]["webhook-id"] for r in flaky.requests}) == 1
        failed = ChannelDelivery.objects.get(channel__name="hanging")
        assert (failed.attempts, failed.last_error) == (3, "deadline exceeded: no complete answer in time; "
                                                           "the connection was cut off")
    finally:
        beat.stop()
        for worker in workers:
            worker.stop()


def test_a_worker_killed_mid_send_still_delivers_with_the_same_idempotency_header(integration, tmp_path, settings):
    settings.CHECKSTACK_WEBHOOK_ALLOWLIST = ["127.0.0.1"]
    env = {**ENV, "CHECKSTACK_CHANNEL_TIMEOUT_SECONDS": "20", "CHECKSTACK_CHANNEL_SENDING_TIMEOUT_SECONDS": "3"}
    with Receiver(delay_first=30) as receiver:
        api = system_create(name="api", actor="system")
        make_channel("chat", "slack", {"url": receiver.url}, events=["incident.created"])
        doomed = start_worker(tmp_path, name="doomed", **env)
        try:
            incident_create(title="API down", system_ids=[api.pk], actor="user:test")
            wait_for(lambda: receiver.requests, timeout=60, what="the first request to reach the receiver")
            doomed.kill()  # mid-send: the service has the request, the worker never hears the answer
        finally:
            doomed.stop()
        survivor = start_worker(tmp_path, name="survivor", **env)
        beat = start_beat(tmp_path, **env)
        try:
            wait_for(lambda: ChannelDelivery.objects.filter(status="sent").exists(), timeout=60,
                     what="the delivery to be sent by the surviving worker")
        finally:
            beat.stop()
            survivor.stop()
    keys = receiver.idempotency_keys()
    assert len(keys) == 2  # the lost attempt and its one repeat
    assert keys[0] == keys[1] == ChannelDelivery.objects.get().message_id
