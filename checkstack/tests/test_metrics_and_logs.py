"""Who may read /metrics (its figures: test_metrics_exposition.py); log lines carrying run and change ids."""

import json
import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from automation.models import Timer
from foundation.log_context import ContextFilter, JSONFormatter, log_context

pytestmark = pytest.mark.django_db


def test_metrics_refuse_anonymous_clients_outside_the_allowlist(admin_client):
    from django.test import Client

    assert Client().get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403
    assert admin_client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 200


@pytest.mark.parametrize("authorization, status", [
    ("Bearer s3cret-metrics-token-0123456789", 200),
    ("bearer s3cret-metrics-token-0123456789", 200),
    ("", 403),
    ("Bearer wrong-token", 403),
    ("Basic s3cret-metrics-token-0123456789", 403),
    ("Bearer s3cret-metrics-token-012345678", 403),
])
def test_with_a_metrics_token_the_bearer_decides_and_the_address_does_not(settings, authorization, status):
    from django.test import Client

    settings.CHECKSTACK_METRICS_TOKEN = "s3cret-metrics-token-0123456789"
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    # From localhost, which the default allow-list admits (every client, behind a proxy on the same host)
    response = Client().get("/metrics", REMOTE_ADDR="127.0.0.1", **headers)

    assert response.status_code == status
    assert ("checkstack_change_events_pending" in response.content.decode()) == (status == 200)


def test_with_a_metrics_token_staff_users_still_read_them(settings, admin_client):
    settings.CHECKSTACK_METRICS_TOKEN = "s3cret-metrics-token-0123456789"
    assert admin_client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 200


def test_without_a_token_the_address_rule_stands(settings):
    from django.test import Client

    settings.CHECKSTACK_METRICS_TOKEN = ""
    assert Client().get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert Client().get("/metrics", REMOTE_ADDR="203.0.113.9",
                        HTTP_AUTHORIZATION="Bearer anything").status_code == 403


def test_log_lines_carry_run_and_change_ids():
    record = logging.LogRecord("checkstack", logging.INFO, __file__, 1, "hello %s", ("ops",), None)
    with log_context(run_id="r-1", change_id="c-2"):
        ContextFilter().filter(record)
    line = json.loads(JSONFormatter().format(record))
    assert (line["message"], line["run_id"], line["change_id"], line["level"]) == ("hello ops", "r-1", "c-2", "INFO")
    outside = logging.LogRecord("checkstack", logging.INFO, __file__, 1, "x", (), None)
    ContextFilter().filter(outside)
    assert (outside.run_id, outside.change_id) == ("-", "-")


def test_healthz_reports_the_oldest_overdue_timer(client):
    Timer.objects.create(kind="resume", owner="x", due_at=timezone.now() - timedelta(seconds=12))
    body = client.get("/healthz").json()
    assert body["oldest_overdue_timer_seconds"] >= 12
