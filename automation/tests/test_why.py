"""Why did it (not) fire: an entity's changes replayed through filter, loop guard and window at their own time,
with conditions and the mode taken from the runs routing stored."""

from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from automation.entities.delivery import route_change_event
from automation.models import ChangeEvent
from automation.tests.engine_support import clock, make_automation
from catalog.services import health_report, system_create
from incidents.services import incident_create

pytestmark = pytest.mark.django_db
LOG = [{"action": "automation.log", "config": {"message": "x"}}]


def row_counts():
    return {model.__name__: model._base_manager.count() for model in apps.get_models()}


def route_latest():
    route_change_event(str(ChangeEvent.objects.latest("id").change_id))


def why(admin_api, automation, **params):
    response = admin_api.get(f"/api/v1/automations/{automation.pk}/why/", params)
    assert response.status_code == 200, response.json()
    return response.json()


def test_a_system_finds_the_incidents_that_list_it_and_says_the_document_is_the_current_one(admin_api):
    api, db = system_create(name="api", actor="system"), system_create(name="db", actor="system")
    automation = make_automation({"name": "critical", "triggers": [
        {"event": "incident.created", "filter": "trigger.payload.severity == 'critical'"}], "actions": LOG})
    incident_create(title="a", severity="minor", system_ids=[api.pk, db.pk], actor="user:ops")
    incident_create(title="b", severity="critical", system_ids=[db.pk], actor="user:ops")
    before = row_counts()
    result = why(admin_api, automation, entity_id=str(api.pk))
    assert row_counts() == before
    assert result["document_version"] == automation.version
    assert "current document" in result["note"]
    [change] = result["changes"]  # the incident of db alone is not about api
    assert change["kind"] == "incident"
    [event] = change["events"]
    [trigger] = event["triggers"]
    assert trigger["gates"] == [{"gate": "filter", "passed": False, "detail": "filter did not match"}]
    assert (trigger["stopped_by"], trigger["started"], trigger["run"]) == ("filter", False, None)
    assert [(f["status"], f["reason"]) for f in result["firings"]] == [("skipped", "filter did not match")]


def test_the_window_counts_the_changes_before_the_first_shown_at_their_own_times(admin_api):
    automation = make_automation({"name": "flaps", "triggers": [{
        "event": "healthcheck.system_health_changed", "window": {"count": 3, "minutes": 10}}], "actions": LOG})
    t0 = timezone.now() - timedelta(hours=2)
    with clock(t0) as advance:
        system = system_create(name="api", actor="system")
        for status in ("degraded", "healthy", "degraded"):  # t0, +4, +8 min: 3 in 10 min
            health_report(system=system, status=status, actor="system")
            advance(timedelta(minutes=4))
        advance(timedelta(minutes=10))  # t0 + 22 min: the first three fell out of the window
        health_report(system=system, status="healthy", actor="system")
    result = why(admin_api, automation, entity_id=str(system.pk), limit=2)
    windows = [[g["detail"] for g in c["events"][0]["triggers"][0]["gates"] if g["gate"] == "window"]
               for c in result["changes"]]
    assert windows == [["window: 1 of 3 in 10 min"], ["window: 3 of 3 in 10 min"]]
    third = result["changes"][1]["events"][0]["triggers"][0]
    # Never routed: the replayed gates passed, and no run can say what conditions and mode decided.
    assert third["gates"][-1]["gate"] == "conditions" and third["gates"][-1]["passed"] is None
    assert (third["stopped_by"], third["started"]) == (None, None)


def test_conditions_and_mode_come_from_the_stored_runs(admin_api):
    system = system_create(name="api", actor="system")
    automation = make_automation({"name": "single", "mode": "single",
                                  "conditions": ["trigger.payload.new_status != 'healthy'"],
                                  "triggers": [{"event": "healthcheck.system_health_changed"}], "actions": LOG})
    for status in ("degraded", "unhealthy", "healthy"):
        health_report(system=system, status=status, actor="system")
        route_latest()
    newest, middle, oldest = [c["events"][0]["triggers"][0] for c in why(
        admin_api, automation, entity_id=str(system.pk))["changes"]]
    assert [(g["gate"], g["passed"]) for g in oldest["gates"]] == [
        ("filter", True), ("loop guard", True), ("conditions", True), ("mode", True)]
    assert oldest["started"] is True and oldest["run"]["status"] == "pending"
    assert [(g["gate"], g["passed"]) for g in middle["gates"]][-2:] == [("conditions", True), ("mode", False)]
    assert middle["run"]["reason"] == "a run is already active (mode single)"
    assert newest["gates"][-1] == {"gate": "conditions", "passed": False, "detail": "conditions not met"}
    assert newest["stopped_by"] == "conditions"


def test_bad_query_parameters_are_400(admin_api):
    automation = make_automation({"name": "a", "triggers": [{"event": "incident.created"}], "actions": LOG})
    url = f"/api/v1/automations/{automation.pk}/why/"
    assert admin_api.get(url).status_code == 400
    assert admin_api.get(url, {"entity_id": "x", "limit": 0}).status_code == 400
    assert admin_api.get(url, {"entity_id": "x", "since": "yesterday"}).status_code == 400
