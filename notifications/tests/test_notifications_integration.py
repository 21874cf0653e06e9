"""Notifications against a real SMTP server, PostgreSQL, Redis, a real worker and beat.

The worker is killed with SIGKILL in the middle of the first SMTP exchange: the server has the message, the
worker never records it. That subscriber must not get a second email; every other subscriber gets exactly one.
"""

import socket
import threading
from collections import Counter
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller

from catalog.services import system_create
from incidents.services import incident_create
from notifications.models import NotificationSend, SendStatus
from notifications.subscribers import subscriber_create
from testing.process_fixtures import start_beat, start_worker, wait_for

pytestmark = pytest.mark.integration


class Mailbox:
    """An SMTP server's handler: records every message; on the first one it runs `on_first` before answering."""

    def __init__(self):
        self.received: list[tuple[str, str]] = []
        self.on_first = None
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook name
        subject = message_from_bytes(envelope.content)["Subject"]
        with self._lock:
            first = not self.received
            self.received.extend((rcpt, subject) for rcpt in envelope.rcpt_tos)
        if first and self.on_first:
            self.on_first()  # the sender dies before it hears "250": sent, never recorded
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server():
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)  # it checks itself by connecting
    controller.start()
    yield mailbox, port
    controller.stop()


def test_a_worker_killed_after_sending_before_recording_sends_no_duplicate(integration, tmp_path, smtp_server):
    mailbox, port = smtp_server
    env = {"EMAIL_URL": f"smtp://127.0.0.1:{port}", "CHECKSTACK_NOTIFICATION_SENDING_TIMEOUT_SECONDS": "2",
           "CHECKSTACK_SWEEP_INTERVAL_SECONDS": "1"}
    api = system_create(name="api", actor="system")
    addresses = [f"user{i}@example.com" for i in range(5)]
    for address in addresses:
        subscriber_create(email=address, system_ids=[api.pk], confirmed=True, actor="system")

    doomed = start_worker(tmp_path, name="doomed", concurrency=1, **env)
    mailbox.on_first = doomed.kill
    incident_create(title="API down", system_ids=[api.pk], actor="user:ops")
    wait_for(lambda: mailbox.received, timeout=30, what="the first email to reach the SMTP server")
    doomed.proc.wait(timeout=10)
    [first_address] = {rcpt for rcpt, _subject in mailbox.received}

    survivor = start_worker(tmp_path, name="survivor", **env)
    beat = start_beat(tmp_path, **env)  # the notifications sweeper: lost claims and lost wake-ups
    try:
        wait_for(lambda: NotificationSend.objects.count() == 5 and not NotificationSend.objects.filter(
            status__in=[SendStatus.PENDING, SendStatus.SENDING]).exists(), timeout=60, what="every send to settle")
    finally:
        beat.stop()
        survivor.stop()

    per_address = Counter(rcpt for rcpt, _subject in mailbox.received)
    assert per_address == {address: 1 for address in addresses}
    assert {subject for _rcpt, subject in mailbox.received} == {"Incident: API down"}
    statuses = dict(NotificationSend.objects.values_list("subscriber__email", "status"))
    # The interrupted send is known to maybe have gone out: recorded as failed, never sent again.
    assert statuses.pop(first_address) == SendStatus.FAILED
    assert set(statuses.values()) == {SendStatus.SENT}
