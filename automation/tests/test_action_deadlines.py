"""Outside calls end at their deadline however slowly the other side answers (a byte a second)."""

import socket
import threading
import time

import pytest

from automation.tests.definitions_support import run_action, run_context
from testing.http_receiver import Receiver


@pytest.fixture
def allow_loopback(settings):
    settings.CHECKSTACK_WEBHOOK_ALLOWLIST = ["127.0.0.1"]


def test_a_webhook_receiver_trickling_bytes_is_cut_off_at_the_timeout(allow_loopback):
    with Receiver(trickle_seconds=6) as receiver:
        started = time.monotonic()
        outcome, _ = run_action("automation.webhook", {"url": receiver.url, "timeout_seconds": 2})
        took = time.monotonic() - started

    # Each byte came within the socket timeout: only the total deadline stops it.
    assert (outcome.success, outcome.error) == (
        False, "deadline exceeded: no complete response within 2.0 s; the connection was cut off")
    assert 1.9 < took < 3.5
    assert len(receiver.requests) == 1


def test_the_step_budget_cuts_a_webhook_off_before_its_own_timeout(allow_loopback):
    context = run_context()
    budgeted = type(context)(**{**context.__dict__, "deadline": time.monotonic() + 1})
    with Receiver(trickle_seconds=6) as receiver:
        outcome, _ = run_action("automation.webhook", {"url": receiver.url, "timeout_seconds": 30},
                                context=budgeted)

    assert not outcome.success and outcome.error.startswith("deadline exceeded: no complete response within 1.0 s")


def test_a_receiver_that_answers_within_the_deadline_succeeds(allow_loopback):
    with Receiver(trickle_seconds=1) as receiver:
        outcome, _ = run_action("automation.webhook", {"url": receiver.url, "timeout_seconds": 5})

    assert (outcome.success, outcome.result) == (True, {"status_code": 200})


class TricklingMailServer:
    """An SMTP server that sends its greeting one byte a second: each read returns within any timeout."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        conn, _ = self.sock.accept()
        with conn:
            for byte in b"220 slow.example ESMTP " + b"." * 30 + b"\r\n":
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return
                time.sleep(1)


def test_an_smtp_server_trickling_its_greeting_is_cut_off_at_email_timeout(settings):
    server = TricklingMailServer()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", server.port, 2
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False

    started = time.monotonic()
    outcome, _ = run_action("automation.email", {"to": ["ops@example.com"], "subject": "s"}, context=run_context())
    took = time.monotonic() - started

    assert (outcome.success, outcome.error) == (
        False, "deadline exceeded: the mail server did not finish within 2.0 s; the connection was cut off")
    assert 1.9 < took < 3.5
    server.sock.close()
