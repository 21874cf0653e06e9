"""The automation admin's Simulate and "Why did it (not) fire?" pages: same services as the API, no writes."""

import pytest
from django.apps import apps

from automation.entities.delivery import route_change_event
from automation.models import ChangeEvent, Run
from automation.tests.engine_support import make_automation
from catalog.services import health_report, system_create

pytestmark = pytest.mark.django_db


def row_counts():
    return {model.__name__: model._base_manager.count() for model in apps.get_models()}


@pytest.fixture
def automation():
    return make_automation({"name": "critical-only", "triggers": [
        {"event": "healthcheck.system_degraded", "filter": 'trigger.payload.new_status == "unhealthy"'}],
        "actions": [{"action": "automation.log", "config": {"message": "{{ trigger.payload.system_id }} down"}}]})


def test_change_page_links_both_tools(admin_client, automation):
    html = admin_client.get(f"/admin/automation/automation/{automation.pk}/change/").content.decode()
    assert f"/admin/automation/automation/{automation.pk}/simulate/" in html
    assert f"/admin/automation/automation/{automation.pk}/why/" in html


def test_simulate_shows_each_gate_and_the_rendered_steps_and_writes_nothing(admin_client, automation):
    url = f"/admin/automation/automation/{automation.pk}/simulate/"
    assert admin_client.get(url).status_code == 200
    before = row_counts()
    passing = admin_client.post(url, {"event": "healthcheck.system_degraded",
                                      "payload": "system_id: s1\nnew_status: unhealthy"}).content.decode()
    assert "would start a run" in passing and "s1 down" in passing
    failing = admin_client.post(url, {"event": "healthcheck.system_degraded",
                                      "payload": '{"system_id": "s1", "new_status": "degraded"}'}).content.decode()
    assert "would not start" in failing and 'class="gate-failed"><td>filter</td>' in failing
    assert row_counts() == before


def test_simulate_a_stored_change_and_bad_input(admin_client, automation):
    url = f"/admin/automation/automation/{automation.pk}/simulate/"
    system = system_create(name="api", actor="system")
    health_report(system=system, status="unhealthy", actor="system")
    change = ChangeEvent.objects.filter(kind="health").latest("id")
    html = admin_client.post(url, {"change_event_id": str(change.change_id)}).content.decode()
    assert "would start a run" in html
    bad = admin_client.post(url, {"event": "x", "payload": "a: ["})
    assert bad.context["form"].errors["payload"]
    for payload, reason in [("- a list", "the payload must be a mapping"), ("a: &x [1]\nb: *x", "aliases")]:
        refused = admin_client.post(url, {"event": "x", "payload": payload})
        assert reason in refused.context["form"].errors["payload"][0]
    empty = admin_client.post(url, {})
    assert "Give an event" in empty.content.decode()
    missing = admin_client.post(url, {"change_event_id": "00000000-0000-0000-0000-000000000000"})
    assert missing.context["form"].errors["change_event_id"]


def test_why_lists_the_firings_and_the_gate_that_stopped_them(admin_client, automation):
    system = system_create(name="api", actor="system")
    health_report(system=system, status="degraded", actor="system")  # the filter wants unhealthy
    route_change_event(str(ChangeEvent.objects.filter(kind="health").latest("id").change_id))
    html = admin_client.get(f"/admin/automation/automation/{automation.pk}/why/",
                            {"entity_id": str(system.pk)}).content.decode()
    assert Run.objects.count() == 0  # the miss wrote nothing: the page replays the change through the filter
    assert "filter did not match" in html and "healthcheck.system_degraded" in html
    other = admin_client.get(f"/admin/automation/automation/{automation.pk}/why/", {"entity_id": "nobody"})
    assert "No change of this entity reached the automation recently." in other.content.decode()
