"""Simulate: the trace of gates and steps, with no side effect at all."""

import pytest
from django.apps import apps

from automation.secrets import secret_set
from automation.tests.engine_support import make_automation
from catalog.services import health_report, system_create
from testing.http_receiver import Receiver

pytestmark = pytest.mark.django_db


def row_counts():
    return {model.__name__: model._base_manager.count() for model in apps.get_models()}


def test_simulate_traces_gates_and_rendered_steps_and_changes_nothing(admin_api, settings):
    settings.CHECKSTACK_WEBHOOK_ALLOWLIST = ["127.0.0.1"]
    secret_set(name="TOKEN", value="s3cr3t-value")
    system = system_create(name="api", actor="system")
    with Receiver() as receiver:
        automation = make_automation({
            "name": "sim", "conditions": ["trigger.payload.new_status != 'healthy'"],
            "triggers": [{"event": "healthcheck.system_degraded", "filter": "trigger.payload.latency_ms > 100",
                          "window": {"count": 2, "minutes": 5}}],
            "actions": [
                {"id": "open", "action": "incident.create", "config": {
                    "title": "{{ trigger.payload.system_id }} slow",
                    "system_ids": ["{{ trigger.payload.system_id }}"]}},
                {"action": "automation.webhook", "config": {"url": receiver.url,
                                                             "headers": {"X-Token": "{{ secret('TOKEN') }}"}}},
            ]})
        before = row_counts()
        response = admin_api.post(f"/api/v1/automations/{automation.pk}/simulate/", {
            "event": "healthcheck.system_degraded", "context_key": str(system.pk),
            "payload": {"system_id": str(system.pk), "new_status": "degraded", "latency_ms": 250}}, format="json")
        assert receiver.requests == []
    assert response.status_code == 200, response.json()
    assert row_counts() == before
    [trace] = response.json()["traces"]
    assert [(g["gate"], g["passed"]) for g in trace["gates"]] == [
        ("filter", True), ("loop guard", True), ("window", False), ("conditions.0", True), ("mode", True)]
    assert trace["gates"][2]["detail"].startswith("this would be occurrence 1 of 2 in 5 min")
    assert trace["would_start"] is False
    assert trace["steps"][0]["config"]["title"] == f"{system.pk} slow"
    assert trace["steps"][0]["config"]["system_ids"] == [str(system.pk)]
    assert trace["steps"][1]["config"]["headers"] == {"X-Token": "***"}
    assert b"s3cr3t-value" not in response.content


def test_simulate_a_stored_change(admin_api):
    system = system_create(name="api", actor="system")
    automation = make_automation({"name": "sim", "triggers": [{"event": "healthcheck.system_degraded"}],
                                  "actions": [{"action": "automation.log", "config": {"message": "x"}}]})
    health_report(system=system, status="unhealthy", actor="system")
    from automation.models import ChangeEvent

    change = ChangeEvent.objects.get(kind="health")
    response = admin_api.post(f"/api/v1/automations/{automation.pk}/simulate/",
                              {"change_event_id": str(change.change_id)}, format="json")
    assert response.status_code == 200
    events = {e["event"]: e for e in response.json()["events"]}
    assert events["healthcheck.system_degraded"]["traces"][0]["would_start"] is True
    assert events["healthcheck.system_health_changed"]["matched"] is False


def test_simulate_bad_input_is_a_400_and_unknown_change_a_404(admin_api):
    automation = make_automation({"name": "sim", "triggers": [{"event": "catalog.system_created"}], "actions": []})
    url = f"/api/v1/automations/{automation.pk}/simulate/"
    assert admin_api.post(url, {}, format="json").status_code == 400
    missing = admin_api.post(url, {"change_event_id": "00000000-0000-0000-0000-000000000000"}, format="json")
    assert missing.status_code == 404


def test_why_did_it_not_fire_lists_each_firing_and_the_gate_that_stopped_it(admin_api):
    from automation.entities.delivery import route_change_event
    from automation.models import ChangeEvent

    system = system_create(name="api", actor="system")
    automation = make_automation({"name": "picky", "triggers": [
        {"event": "healthcheck.system_health_changed", "filter": "trigger.payload.new_status == 'unhealthy'"}],
        "actions": [{"action": "automation.log", "config": {"message": "x"}}]})
    for status in ("degraded", "unhealthy"):
        health_report(system=system, status=status, actor="system")
        route_change_event(str(ChangeEvent.objects.order_by("-id").first().change_id))
    response = admin_api.get(f"/api/v1/automations/{automation.pk}/why/?entity_id={system.pk}")
    assert response.status_code == 200
    firings = response.json()["firings"]
    assert [(f["status"], f["reason"]) for f in firings] == [("pending", None), ("skipped", "filter did not match")]
    assert firings[1]["change_id"] == str(ChangeEvent.objects.filter(kind="health").order_by("id").first().change_id)
    assert admin_api.get(f"/api/v1/automations/{automation.pk}/why/").status_code == 400


def test_simulate_reports_a_full_queue_as_routing_then_decides_it(admin_api):
    from automation.entities.delivery import route_change_event
    from automation.models import ChangeEvent, Run

    system = system_create(name="api", actor="system")
    automation = make_automation({"name": "one-at-a-time", "mode": "queued", "max_runs": 1,
                                  "triggers": [{"event": "healthcheck.system_health_changed"}],
                                  "actions": [{"action": "automation.log", "config": {"message": "x"}}]})

    def report(status):
        health_report(system=system, status=status, actor="system")
        return ChangeEvent.objects.filter(kind="health").latest("id")

    for status in ("degraded", "unhealthy"):  # one run active, one waiting: the queue of 1 is full
        route_change_event(str(report(status).change_id))
    third = report("healthy")
    response = admin_api.post(f"/api/v1/automations/{automation.pk}/simulate/",
                              {"change_event_id": str(third.change_id)}, format="json")
    [trace] = response.json()["events"][0]["traces"]
    assert trace["gates"][-1] == {"gate": "mode", "passed": False, "detail": "queue is full (mode queued)"}
    assert trace["would_start"] is False

    route_change_event(str(third.change_id))
    skipped = Run.objects.get(automation=automation, firing_key=str(third.change_id))
    assert (skipped.status, skipped.reason) == ("skipped", "queue is full (mode queued)")
