"""Deliveries travel on checkstack.deliveries: a routing-only worker never takes them, a deliveries-only worker
does, and the worker the Procfile starts consumes every queue. Real workers on PostgreSQL and Redis."""

import base64
import json
import shlex
import time

import pytest
import redis
from django.conf import settings

from automation.models import ChangeEvent, SubscriptionDelivery
from automation.tests.support import SEEN_KEY, seen_client
from catalog.services import system_create
from incidents.services import incident_create
from notifications.models import NotificationSend, SendStatus
from notifications.subscribers import subscriber_create
from testing.process_fixtures import BASE_DIR, CeleryProcess, process_env, start_worker, wait_for

pytestmark = pytest.mark.integration

ROUTING_QUEUES = "celery,checkstack.broadcast"
DELIVERY_QUEUES = "checkstack.deliveries"


def queued_tasks(queue: str) -> list[tuple[str, list]]:
    """(task name, args) of each message waiting in `queue` (kombu's Redis transport: one list per queue)."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    messages = [json.loads(raw) for raw in client.lrange(queue, 0, -1)]
    return [(m["headers"]["task"], json.loads(base64.b64decode(m["body"]))[0]) for m in messages]


def seen_change_ids() -> list[str]:
    return [c.decode() for c in seen_client().lrange(SEEN_KEY, 0, -1)]


def test_a_delivery_waits_on_its_queue_for_a_deliveries_worker(integration, tmp_path):
    # Given a worker consuming only routing's queues
    router = start_worker(tmp_path, "router", queues=ROUTING_QUEUES)
    try:
        # When a change is made, it is routed and its delivery is queued on checkstack.deliveries
        system = system_create(name="api", actor="user:ann")
        change_id = str(ChangeEvent.objects.get(entity_id=str(system.pk)).change_id)
        wait_for(lambda: not ChangeEvent.objects.filter(routed_at=None).exists(), timeout=20, what="routing")
        deliveries = list(SubscriptionDelivery.objects.order_by("id").values_list("id", flat=True))
        assert len(deliveries) >= 1  # the test recorder's, beside any the apps subscribe on systems
        expected = sorted(("checkstack.deliver_change", [pk]) for pk in deliveries)
        wait_for(lambda: sorted(queued_tasks("checkstack.deliveries")) == expected, timeout=10,
                 what="the deliveries' messages")
        time.sleep(1.0)  # room for the routing worker to take them, were they on a queue it consumes
        # Then the routing worker left them there, and nothing for them went to the routing queue
        assert sorted(queued_tasks("checkstack.deliveries")) == expected
        assert queued_tasks("celery") == []
        assert not SubscriptionDelivery.objects.exclude(delivered_at=None).exists()
        assert seen_change_ids() == []

        # When a worker consuming only checkstack.deliveries starts, it delivers them, once
        deliverer = start_worker(tmp_path, "deliverer", queues=DELIVERY_QUEUES)
        try:
            wait_for(lambda: not SubscriptionDelivery.objects.filter(delivered_at=None).exists(), timeout=20,
                     what="the deliveries")
        finally:
            deliverer.stop()
    finally:
        router.stop()
    assert list(SubscriptionDelivery.objects.filter(delivered_at__isnull=False, attempts=1)
                .order_by("id").values_list("id", flat=True)) == deliveries
    assert seen_change_ids() == [change_id]
    assert queued_tasks("checkstack.deliveries") == []


def test_notification_emails_are_planned_and_sent_by_the_deliveries_worker_alone(integration, tmp_path):
    # Given two followers of a system, and an incident on it routed by a routing-only worker that then stops
    api = system_create(name="api", actor="system")
    for address in ("ann@example.com", "bob@example.com"):
        subscriber_create(email=address, system_ids=[api.pk], confirmed=True, actor="system")
    router = start_worker(tmp_path, "router", queues=ROUTING_QUEUES)
    try:
        incident_create(title="API down", system_ids=[api.pk], actor="user:ops")
        wait_for(lambda: not ChangeEvent.objects.filter(routed_at=None).exists(), timeout=20, what="routing")
        # Every delivery's message published before the worker stops (one killed between its commit and the
        # publish leaves the message to the sweeper, which this test does not run).
        wait_for(lambda: SubscriptionDelivery.objects.filter(subscriber="notifications.incident").exists()
                 and len(queued_tasks("checkstack.deliveries")) == SubscriptionDelivery.objects.count(),
                 timeout=10, what="the deliveries' messages")
    finally:
        router.stop()
    assert NotificationSend.objects.count() == 0

    # When only a deliveries worker runs, it plans the emails and sends them (console backend: into its log)
    deliverer = start_worker(tmp_path, "deliverer", queues=DELIVERY_QUEUES)
    try:
        wait_for(lambda: NotificationSend.objects.filter(status=SendStatus.SENT).count() == 2, timeout=30,
                 what="both emails sent")
    finally:
        deliverer.stop()
    assert set(NotificationSend.objects.values_list("subscriber__email", "status")) == {
        ("ann@example.com", SendStatus.SENT), ("bob@example.com", SendStatus.SENT)}
    assert deliverer.log().count("Subject: Incident: API down") == 2
    assert "Subject: Incident: API down" not in router.log()


def procfile_worker_args() -> list[str]:
    line = next(line for line in (BASE_DIR / "Procfile").read_text().splitlines() if line.startswith("worker:"))
    command = shlex.split(line.split(":", 1)[1])
    assert command[:4] == ["celery", "-A", "checkstack", "worker"]
    return command[3:]


def test_the_procfile_worker_consumes_every_queue(integration, tmp_path):
    # Given the worker exactly as the Procfile starts it (plus a name and the test subscriber)
    args = [*procfile_worker_args(), "-n", "procfile@%h", "-I", "automation.tests.worker_plugin"]
    worker = CeleryProcess(args, tmp_path / "procfile.log", process_env()).start("ready.")
    try:
        # When a change is made, the one worker routes it and runs its deliveries
        system = system_create(name="api", actor="user:ann")
        change_id = str(ChangeEvent.objects.get(entity_id=str(system.pk)).change_id)
        wait_for(lambda: seen_change_ids() == [change_id], timeout=20, what="routing and delivery")
        wait_for(lambda: not SubscriptionDelivery.objects.filter(delivered_at=None).exists(), timeout=20,
                 what="every delivery")
    finally:
        worker.stop()
    # Then its banner lists every declared queue (the broadcast one under its per-worker name)
    banner = worker.log().split("[queues]", 1)[1].split("[tasks]", 1)[0]
    consumed = {line.split()[1] for line in banner.splitlines() if line.strip().startswith(".>")}
    assert {"celery", "checkstack.deliveries", "checkstack.checks"} <= consumed
    assert len(consumed) == 4 and any(name.startswith("bcast.") for name in consumed), banner
    assert queued_tasks("celery") == queued_tasks("checkstack.deliveries") == []
