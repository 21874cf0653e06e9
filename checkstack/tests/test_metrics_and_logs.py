"""Who may read /metrics (its figures: test_metrics_exposition.py); log lines carrying run and change ids."""

import json
import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from automation.models import Timer
from automation.observability import ContextFilter, JSONFormatter, log_context

pytestmark = pytest.mark.django_db


def test_metrics_refuse_anonymous_clients_outside_the_allowlist(admin_client):
    from django.test import Client

    assert Client().get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403
    assert admin_client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 200


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
