"""Subscribe → confirm → notified → unsubscribe, clicked through in a real headless Chromium."""

import re

import pytest
from django.core import mail

from catalog.services import system_create
from incidents.services import incident_create
from notifications.models import Subscriber
from testing.browser import browser_page

from .support import pump

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def path_of(message, kind: str) -> str:
    return re.search(rf"http://localhost:8000(/status/subscribe/{kind}/[^/\s]+/)", message.body).group(1)


def test_subscription_path_in_chromium(live_server, tmp_path):
    api = system_create(name="Checkout API", actor="system")
    system_create(name="Search", actor="system")
    with browser_page() as page:
        page.goto(f"{live_server.url}/status/subscribe/")
        page.check("form.subscribe input[value='Checkout API']")
        page.fill("#subscribe-email", "visitor@example.com")
        page.click("form.subscribe button[type=submit]")
        page.wait_for_url("**/status/subscribe/sent/")
        assert "Check your email" in page.content()

        pump()  # the worker's part: the confirmation email
        [confirmation] = mail.outbox
        page.goto(live_server.url + path_of(confirmation, "confirm"))
        assert "Checkout API" in page.inner_text("ul.systems") and not Subscriber.objects.get().confirmed
        page.click("button[type=submit]")
        page.wait_for_selector("text=Subscription confirmed")
        assert Subscriber.objects.get().confirmed

        mail.outbox.clear()
        incident_create(title="Checkout failing", system_ids=[api.pk], actor="user:ops")
        pump()
        [notification] = mail.outbox
        assert (notification.to, notification.subject) == (["visitor@example.com"], "Incident: Checkout failing")

        page.goto(live_server.url + path_of(notification, "unsubscribe"))
        assert "Stop sending status notifications to" in page.content() and Subscriber.objects.exists()
        page.click("button[type=submit]")
        page.wait_for_selector("text=You are unsubscribed")
        page.screenshot(path=str(tmp_path / "unsubscribed.png"))
    assert not Subscriber.objects.exists()
    assert (tmp_path / "unsubscribed.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
