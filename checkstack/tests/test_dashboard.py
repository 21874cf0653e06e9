"""The admin's index: Checkstack's branding, and the state of things, each figure linking to the rows it counts."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from automation.models import ChangeEvent, Run, Timer
from automation.tests.engine_support import make_automation
from catalog.dependencies import dependency_create
from catalog.models import System, SystemImpact
from catalog.services import health_report, system_create
from checkstack.dashboard import FIGURES, dashboard_figures
from incidents.models import Incident
from incidents.services import incident_create, incident_resolve
from maintenance.models import MaintenanceWindow
from maintenance.services import maintenance_create
from testing.browser import admin_login, browser_page

pytestmark = pytest.mark.postgres  # also in the PostgreSQL pass


def _run(automation, *, status, finished_at):
    run = Run.objects.create(automation=automation, automation_version=1, document=automation.document,
                             trigger_id="manual", event="automation.manual", actor="user:test",
                             bucket=str(automation.pk), status=status)
    Run.objects.filter(pk=run.pk).update(finished_at=finished_at)  # Run is not tracked: a plain row
    return run


@pytest.fixture
def state_of_things(db):
    """Given a bit of everything the dashboard counts, and things it must not count."""
    now = timezone.now()
    systems = {name: system_create(name=name, actor="system") for name in ("api", "db", "web", "cdn", "new")}
    for name, status in (("api", "unhealthy"), ("db", "unhealthy"), ("web", "degraded"), ("cdn", "healthy")):
        health_report(system=systems[name], status=status, actor="system")
    # Impacted: "new" (nothing reported) through db, "cdn" (healthy) through web; "web" depends on a healthy cdn.
    dependency_create(system_id=systems["new"].pk, depends_on_id=systems["db"].pk, actor="system")
    dependency_create(system_id=systems["cdn"].pk, depends_on_id=systems["web"].pk, impact="partial", actor="system")
    incident_create(title="api down", system_ids=[systems["api"].pk], actor="user:ops")
    incident_create(title="db slow", system_ids=[systems["db"].pk], actor="user:ops")
    incident_resolve(incident=incident_create(title="old", system_ids=[systems["api"].pk], actor="user:ops"),
                     actor="user:ops")
    maintenance_create(title="now", start_at=now - timedelta(hours=1), end_at=now + timedelta(hours=1),
                       status="in_progress", system_ids=[systems["web"].pk], actor="user:ops")
    maintenance_create(title="later", start_at=now + timedelta(days=2), end_at=now + timedelta(days=3),
                       actor="user:ops")
    maintenance_create(title="soon", start_at=now + timedelta(hours=3), end_at=now + timedelta(hours=4),
                       actor="user:ops")
    automation = make_automation({"name": "noop", "triggers": [{"event": "automation.manual"}],
                                  "actions": [{"action": "automation.log", "config": {"message": "hi"}}]})
    _run(automation, status="failed", finished_at=now - timedelta(hours=2))
    _run(automation, status="failed", finished_at=now - timedelta(hours=23))
    _run(automation, status="failed", finished_at=now - timedelta(hours=30))  # too old
    _run(automation, status="succeeded", finished_at=now - timedelta(hours=1))
    ChangeEvent.objects.filter(kind="system").update(routed_at=now)  # routed; the rest waits (no worker here)
    poisoned = ChangeEvent.objects.filter(routed_at=None).order_by("id").first()
    ChangeEvent.objects.filter(pk=poisoned.pk).update(parked_at=now, routing_attempts=5)  # parked: its own figure
    Timer.objects.create(due_at=now - timedelta(minutes=5), kind="resume", owner="w1")
    Timer.objects.create(due_at=now - timedelta(minutes=1), kind="dwell", owner="d1")
    Timer.objects.create(due_at=now - timedelta(minutes=9), kind="resume", owner="w0", fired_at=now)
    Timer.objects.create(due_at=now + timedelta(minutes=5), kind="resume", owner="w2")
    return now


def expected_counts(now) -> dict[str, int]:
    """What the database says, asked directly (not through the dashboard's selectors)."""
    return {
        "systems_unhealthy": System.objects.filter(health__status="unhealthy").count(),
        "systems_degraded": System.objects.filter(health__status="degraded").count(),
        "systems_impacted": SystemImpact.objects.exclude(impacted_by=[]).count(),
        "incidents_open": Incident.objects.filter(resolved_at=None).count(),
        "maintenance_in_progress": MaintenanceWindow.objects.filter(status="in_progress").count(),
        "maintenance_scheduled": MaintenanceWindow.objects.filter(status="scheduled").count(),
        "runs_failed": Run.objects.filter(status="failed", finished_at__gte=now - timedelta(hours=24)).count(),
        "routing_lag": ChangeEvent.objects.filter(routed_at=None, parked_at=None).count(),
        "changes_parked": ChangeEvent.objects.filter(routed_at=None).exclude(parked_at=None).count(),
        "timers_overdue": Timer.objects.filter(fired_at=None, due_at__lte=now).count(),
    }


def test_each_figure_counts_what_the_database_holds(state_of_things, admin_user):
    figures = {f.key: f for f in dashboard_figures(user=admin_user, now=state_of_things)}
    assert {key: f.count for key, f in figures.items()} == expected_counts(state_of_things)
    unrouted = ChangeEvent.objects.exclude(kind="system").count() - 1  # one of them is parked
    assert expected_counts(state_of_things) == {
        "systems_unhealthy": 2, "systems_degraded": 1, "systems_impacted": 2, "incidents_open": 2,
        "maintenance_in_progress": 1,
        "maintenance_scheduled": 2, "runs_failed": 2, "routing_lag": unrouted, "changes_parked": 1,
        "timers_overdue": 2}
    assert unrouted > 0 and figures["routing_lag"].value != "none"
    assert figures["maintenance_scheduled"].detail.startswith("next: soon, starts ")
    assert figures["systems_impacted"].detail == "cdn, new"


def test_the_page_costs_a_fixed_number_of_queries(state_of_things, admin_user):
    with CaptureQueriesContext(connection) as few:
        dashboard_figures(user=admin_user)
    system_create(name="more", actor="system")
    incident_create(title="more", system_ids=[System.objects.get(name="more").pk], actor="user:ops")
    with CaptureQueriesContext(connection) as more:
        dashboard_figures(user=admin_user)
    # one each; the next maintenance window and the impacted systems' names take two
    assert len(few) == len(more) == len(FIGURES) + 2


@pytest.mark.django_db
def test_a_user_sees_only_the_figures_of_what_they_may_view():
    user = User.objects.create_user("viewer", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_incident"))
    user = User.objects.get(pk=user.pk)  # fresh permission cache
    assert [f.key for f in dashboard_figures(user=user)] == ["incidents_open"]


@pytest.mark.django_db
def test_the_admin_is_branded_and_links_to_the_status_page(admin_client, client):
    html = admin_client.get("/admin/").content.decode()
    assert "<title>State of things | Checkstack admin</title>" in html
    assert '<div id="site-name"><a href="/admin/">Checkstack</a></div>' in html
    assert 'href="/status/"' in html and "View site" in html
    assert 'class="checkstack-dashboard"' in html
    response = client.get("/")
    assert (response.status_code, response["Location"]) == (302, "/status/")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_dashboard_in_chromium(live_server, admin_user, state_of_things, tmp_path):
    expected = expected_counts(timezone.now())
    with browser_page() as page:
        admin_login(page, live_server.url, "/admin/")
        page.wait_for_selector(".checkstack-dashboard")
        assert page.locator("#site-name").inner_text() == "Checkstack"
        page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
        assert page.locator(".checkstack-dashboard li").first.bounding_box()["width"] > 100  # laid out as tiles
        figures = page.locator(".checkstack-dashboard li")
        shown = {}
        for i in range(figures.count()):
            item = figures.nth(i)
            shown[item.get_attribute("data-figure")] = (
                int(item.get_attribute("data-count")), item.locator(".figure-value").inner_text(),
                item.locator("a").get_attribute("href"))
        assert {key: count for key, (count, _, _) in shown.items()} == expected
        for key, (count, value, href) in shown.items():
            if key != "routing_lag":
                assert value == str(count), key
            page.goto(f"{live_server.url}{href}")
            page.wait_for_selector("#changelist")
            assert urlsplit(page.url).query, key  # the filter stayed (the admin drops unknown lookups with ?e=1)
            assert "e=1" not in urlsplit(page.url).query, key
            rows = page.locator("#result_list tbody tr").count() if page.locator("#result_list").count() else 0
            assert rows == count, (key, href)
            counter = page.locator(".paginator").inner_text()
            assert re.match(rf"\s*{count}\b", counter), (key, counter)
        page.goto(f"{live_server.url}/admin/")
        page.click("text=View site")
        page.wait_for_url("**/status/")
