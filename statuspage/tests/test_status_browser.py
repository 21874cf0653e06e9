"""The public pages in a real headless Chromium, against the live test server."""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.groups import group_create, group_set_systems
from catalog.models import Dependency
from catalog.services import health_report, system_create
from incidents.services import incident_add_update, incident_create, incident_resolve
from maintenance.services import maintenance_create
from testing.browser import browser_page, dump_dom, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_status_page_in_chromium(live_server, tmp_path):
    api = system_create(name="Checkout API", actor="system")
    health_report(system=api, status="unhealthy", message="Timeouts", actor="system")
    incident_create(title="Checkout failing", system_ids=[api.pk], initial_message="We are on it", actor="system")

    dom = dump_dom(f"{live_server.url}/status/")
    for text in ("System status", "Checkout API", "unhealthy", "Timeouts", "Checkout failing", "We are on it",
                 "No maintenance scheduled.", "Major outage"):
        assert text in dom, text

    png = screenshot(f"{live_server.url}/status/", tmp_path / "status.png")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10_000


@pytest.fixture
def outage():
    """Checkout (in Payments) depends on Database (in Platform), which is down; Search has no group."""
    platform = group_create(name="Platform", position=1, actor="system")
    payments = group_create(name="Payments", position=2, actor="system")
    db, checkout, search = (system_create(name=n, actor="system") for n in ("Database", "Checkout", "Search"))
    Dependency.objects.create(system=checkout, depends_on=db, impact="partial")
    group_set_systems(group=platform, system_ids=[db.pk], actor="system")
    group_set_systems(group=payments, system_ids=[checkout.pk], actor="system")
    for system in (checkout, search):
        health_report(system=system, status="healthy", actor="system")
    health_report(system=db, status="unhealthy", actor="system")
    return {"db": db, "checkout": checkout}


def test_banner_groups_affected_by_note_and_dark_theme(live_server, outage):
    with browser_page() as page:
        page.emulate_media(color_scheme="light")
        page.goto(f"{live_server.url}/status/")
        assert page.locator(".banner").text_content().strip() == "Partial outage"
        light = page.evaluate("getComputedStyle(document.body).backgroundColor")

        summaries = page.locator("details.group > summary strong").all_text_contents()
        assert summaries == ["Platform", "Payments"]
        payments = page.locator("details.group").nth(1)
        assert payments.locator(".impact-note").text_content() == "affected by Database"
        assert payments.locator(".badge").nth(1).text_content().strip() == "degraded"  # partial: at most degraded
        # Collapsible without JavaScript: a click on the summary folds the group away.
        assert payments.locator("li.system").is_visible()
        payments.locator("summary").click()
        assert not payments.locator("li.system").is_visible()
        assert page.locator("ul.systems > li.system strong").last.text_content() == "Search"

        page.emulate_media(color_scheme="dark")
        dark = page.evaluate("getComputedStyle(document.body).backgroundColor")
        text = page.evaluate("getComputedStyle(document.body).color")

    assert light == "rgb(255, 255, 255)"
    assert dark == "rgb(20, 23, 26)" and text == "rgb(230, 232, 235)"


def test_incident_page_and_history_in_chromium(live_server):
    api = system_create(name="Public API", actor="system")
    incident = incident_create(title="API errors", system_ids=[api.pk], initial_message="Looking into it",
                               actor="system")
    incident_add_update(incident=incident, message="Fix is rolling out", status_change="fixing", actor="system")
    incident_resolve(incident=incident, message="All good again", actor="system")
    now = timezone.now()
    maintenance_create(title="Done window", system_ids=[api.pk], start_at=now - timedelta(days=40),
                       end_at=now - timedelta(days=40, hours=-2), status="completed", actor="system")

    with browser_page() as page:
        page.goto(f"{live_server.url}/status/history/")
        assert page.locator(".history-list > li strong").all_text_contents() == ["API errors", "Done window"]
        page.click("text=API errors")
        page.wait_for_url(f"**/status/incidents/{incident.pk}/")
        assert page.locator("h1").text_content() == "API errors"
        timeline = page.locator("ol.timeline > li").all_text_contents()
        assert [t.split("\n")[0].strip() for t in timeline] == [
            "Resolved — All good again", "Fixing — Fix is rolling out", "Investigating — Looking into it"]
        facts = dict(zip(page.locator("dl.facts dt").all_text_contents(),
                         page.locator("dl.facts dd").all_text_contents(), strict=True))
        assert facts["Affected systems"] == "Public API" and facts["Duration"] == "0 minutes"
        page.click("text=Back to the status page")
        assert page.locator(".banner").text_content().strip() == "All systems operational"
