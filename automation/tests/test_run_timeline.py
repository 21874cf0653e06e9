"""The run timeline and the entity history with the runs each change started, in the admin and in Chromium."""

from datetime import timedelta

import pytest
from django.utils import timezone

from automation.admin.timeline import timeline_bars
from automation.engine.runs.runner import run_advance
from automation.entities.delivery import route_change_event
from automation.models import ChangeEvent, Run, RunStep
from automation.tests.engine_support import make_automation
from catalog.services import system_create
from incidents.services import incident_create
from testing.browser import admin_login, browser_page

T0 = timezone.now().replace(microsecond=0)


def step(path, start, end, status="succeeded", kind="action"):
    return RunStep(path=path, kind=kind, status=status, attempts=1, iteration="",
                   started_at=T0 + timedelta(seconds=start), finished_at=end and T0 + timedelta(seconds=end))


def test_bars_are_placed_by_time_within_the_run():
    run = Run(started_at=T0, finished_at=T0 + timedelta(seconds=10))
    bars = timeline_bars(run, [step("actions.1", 5, 10), step("actions.0", 0, 5), step("actions.2", 10, 10)])
    assert [(b["path"], b["left"], b["width"], b["seconds"]) for b in bars] == [
        ("actions.0", 0.0, 50.0, 5.0), ("actions.1", 50.0, 50.0, 5.0), ("actions.2", 99.4, 0.6, 0.0)]
    assert timeline_bars(run, []) == []


@pytest.fixture
def finished_run(db):
    automation = make_automation({"name": "on-critical", "triggers": [{"event": "incident.created"}], "actions": [
        {"action": "automation.log", "config": {"message": "one"}},
        {"action": "automation.log", "config": {"message": "two"}}]})
    api = system_create(name="api", actor="system")
    incident = incident_create(title="down", system_ids=[api.pk], actor="user:ops")
    route_change_event(str(ChangeEvent.objects.filter(kind="incident").latest("id").change_id))
    run = Run.objects.get(automation=automation)
    run_advance(run_id=run.pk)
    return run, incident


@pytest.mark.django_db
def test_the_run_page_shows_its_timeline(admin_client, finished_run):
    run, _incident = finished_run
    html = admin_client.get(f"/admin/automation/run/{run.pk}/change/").content.decode()
    assert 'class="run-timeline"' in html
    assert html.index("actions.0") < html.index("actions.1")
    assert html.count('class="tl-bar tl-succeeded"') == 2


@pytest.mark.django_db
def test_an_entity_history_links_the_runs_its_changes_started(admin_client, finished_run):
    run, incident = finished_run
    html = admin_client.get(f"/admin/incidents/incident/{incident.pk}/change/").content.decode()
    assert "Runs it started" in html
    assert f'href="/admin/automation/run/{run.pk}/change/"' in html and "on-critical (succeeded)" in html


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_run_timeline_in_chromium(live_server, admin_user, finished_run, tmp_path):
    run, _incident = finished_run
    with browser_page() as page:
        admin_login(page, live_server.url, f"/admin/automation/run/{run.pk}/change/")
        page.wait_for_selector(".run-timeline")
        assert page.locator(".tl-bar").count() == 2
        widths = [page.locator(".tl-bar").nth(i).bounding_box()["width"] for i in range(2)]
        assert all(width > 0 for width in widths)  # drawn, not just present in the markup
        page.screenshot(path=str(tmp_path / "run-timeline.png"), full_page=True)
    png = (tmp_path / "run-timeline.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
