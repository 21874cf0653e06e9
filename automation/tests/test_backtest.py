"""Backtest: a known history replayed through filters, windows and dwells, with nothing written."""

import io
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.management import call_command
from django.utils import timezone

from automation.engine.inspection.backtest import backtest
from automation.tests.engine_support import clock, make_automation
from catalog.services import health_report, system_create
from incidents.services import incident_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]
LOG = [{"action": "automation.log", "config": {"message": "x"}}]


def row_counts() -> dict:
    return {model.__name__: model._base_manager.count() for model in apps.get_models()}


@pytest.fixture
def history():
    """api: degraded 2 min (a blip), then degraded/unhealthy 10 min; db: one critical and one minor incident."""
    t0 = timezone.now() - timedelta(days=1)
    with clock(t0) as advance:
        api = system_create(name="api", actor="system")
        health_report(system=api, status="degraded", actor="system")  # t0
        advance(timedelta(minutes=2))
        health_report(system=api, status="healthy", actor="system")  # t0+2m: breaks the first dwell
        advance(timedelta(minutes=8))
        health_report(system=api, status="degraded", actor="system")  # t0+10m
        advance(timedelta(minutes=2))
        health_report(system=api, status="unhealthy", actor="system")  # t0+12m: still holds
        advance(timedelta(minutes=8))
        health_report(system=api, status="healthy", actor="system")  # t0+20m
        db = system_create(name="db", actor="system")
        incident_create(title="bad", severity="critical", system_ids=[db.pk], actor="user:ops")
        incident_create(title="meh", severity="minor", system_ids=[db.pk], actor="user:ops")
    return t0, api


def test_dwell_fires_once_for_the_stretch_that_held_and_not_for_the_blip(history):
    t0, api = history
    automation = make_automation({"name": "sustained", "concurrency_scope": "context_key", "triggers": [
        {"event": "healthcheck.system_degraded", "for": {"minutes": 5}}], "actions": LOG})
    result = backtest(automation=automation, since=t0 - timedelta(minutes=1), until=timezone.now())
    assert [(f.at, f.context_key, f.reason) for f in result.firings] == [
        (t0 + timedelta(minutes=15), str(api.pk), "started")]


def test_window_once_fires_at_the_third_departure_from_healthy(history):
    t0, api = history
    automation = make_automation({"name": "flaps", "triggers": [{
        "event": "healthcheck.system_health_changed", "filter": 'trigger.payload.new_status != "healthy"',
        "window": {"count": 3, "minutes": 30, "refire": "once"}}], "actions": LOG})
    result = backtest(automation=automation, since=t0 - timedelta(minutes=1), until=timezone.now())
    assert [(f.at, f.started) for f in result.starts] == [(t0 + timedelta(minutes=12), True)]
    reasons = [f.reason for f in result.firings]
    assert reasons.count("filter did not match") == 2  # the two returns to healthy
    assert "window: 1 of 3 in 30 min" in reasons and "window: 2 of 3 in 30 min" in reasons


def test_filter_rejects_and_the_period_limits_what_is_replayed(history):
    t0, _api = history
    automation = make_automation({"name": "critical", "triggers": [
        {"event": "incident.created", "filter": 'trigger.payload.severity == "critical"'}], "actions": LOG})
    result = backtest(automation=automation, since=t0 - timedelta(minutes=1), until=timezone.now())
    assert [f.reason for f in result.firings] == ["started", "filter did not match"]
    assert backtest(automation=automation, since=t0 + timedelta(minutes=21), until=timezone.now()).firings == []


def test_the_command_prints_the_runs_and_changes_nothing(history):
    t0, api = history
    make_automation({"name": "sustained", "concurrency_scope": "context_key", "triggers": [
        {"event": "healthcheck.system_degraded", "for": {"minutes": 5}}], "actions": LOG})
    before = row_counts()
    out, err = io.StringIO(), io.StringIO()
    call_command("automation_backtest", "sustained", "--since", "2d", stdout=out, stderr=err)
    assert row_counts() == before
    lines = out.getvalue().splitlines()
    assert lines[0].startswith((t0 + timedelta(minutes=15)).isoformat()) and f"context={api.pk}" in lines[0]
    assert "1 run(s) would have started" in lines[-1]
    assert "100%" in err.getvalue()


def test_bad_arguments_are_clear_errors(history):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no automation"):
        call_command("automation_backtest", "nope")
    make_automation({"name": "a", "triggers": [{"event": "incident.created"}], "actions": LOG})
    with pytest.raises(CommandError, match="--since"):
        call_command("automation_backtest", "a", "--since", "yesterday")
