"""Incident and maintenance pages, the history, the feeds and the calendar: what each answers, exactly."""

from datetime import timedelta

import feedparser
import icalendar
import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from catalog.services import health_report, system_create
from incidents.models import Incident
from incidents.services import incident_add_update, incident_create, incident_resolve
from maintenance.services import maintenance_add_update, maintenance_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    system = system_create(name="Public API", actor="system")
    health_report(system=system, status="healthy", actor="system")
    return system


def backdate(incident, *, days: float) -> None:
    # created_at is auto_now_add and tracked models refuse update(): move it in SQL, as time would have.
    at = timezone.now() - timedelta(days=days)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Incident._meta.db_table} SET created_at = %s, resolved_at = "
                       "CASE WHEN resolved_at IS NULL THEN NULL ELSE %s END WHERE id = %s",
                       [at, at + timedelta(hours=1), incident.pk.hex if connection.vendor == "sqlite" else incident.pk])


def planned(window, message: str):
    return maintenance_add_update(window=window, message=message, actor="system")


def test_an_incident_page_shows_the_whole_timeline_systems_start_end_and_duration(api):
    incident = incident_create(title="API errors", system_ids=[api.pk], initial_message="Looking into it",
                               actor="user:oncall-alice")
    incident_add_update(incident=incident, message="Fix is rolling out", status_change="fixing", actor="system")
    incident_resolve(incident=incident, message="All good again", actor="system")

    html = Client().get(f"/status/incidents/{incident.pk}/").content.decode()

    for text in ("API errors", "Public API", "Looking into it", "Fix is rolling out", "All good again", "Resolved",
                 "0 minutes"):
        assert text in html, text
    # newest first
    assert html.index("All good again") < html.index("Fix is rolling out") < html.index("Looking into it")
    assert "oncall-alice" not in html and "user:" not in html


def test_an_unknown_record_is_a_404(api):
    assert Client().get("/status/incidents/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert Client().get("/status/maintenance/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert Client().get("/status/incidents/not-a-uuid/").status_code == 404


def test_a_maintenance_page_shows_its_window_and_updates(api):
    now = timezone.now()
    window = maintenance_create(title="Database upgrade", description="Minor version", system_ids=[api.pk],
                                start_at=now + timedelta(days=1), end_at=now + timedelta(days=1, hours=2),
                                actor="system")
    planned(window, "Planned")

    html = Client().get(f"/status/maintenance/{window.pk}/").content.decode()

    for text in ("Database upgrade", "Minor version", "Public API", "Planned", "Scheduled", "ongoing"):
        assert text in html, text


def test_history_lists_resolved_incidents_newest_first_ninety_days_a_page(api):
    titles = {}
    for title, days in (("recent", 1), ("older", 30), ("last quarter", 100), ("open", 2)):
        incident = incident_create(title=title, system_ids=[api.pk], actor="system")
        if title != "open":
            incident_resolve(incident=incident, actor="system")
        backdate(incident, days=days)
        titles[title] = incident
    now = timezone.now()
    maintenance_create(title="done window", system_ids=[api.pk], start_at=now - timedelta(days=10),
                       end_at=now - timedelta(days=10, hours=-1), status="completed", actor="system")

    first = Client().get("/status/history/").content.decode()
    second = Client().get("/status/history/?page=2").content.decode()

    assert first.index("recent") < first.index("done window") < first.index("older")
    assert "last quarter" not in first and ">open<" not in first and 'href="?page=2"' in first
    assert "last quarter" in second and "recent" not in second and 'href="?page=1"' in second
    assert 'href="?page=3"' not in second
    assert Client().get("/status/history/?page=0").status_code == 404
    assert Client().get("/status/history/?page=x").status_code == 404


def test_the_feeds_have_one_entry_per_update_newest_first_at_most_fifty(api):
    incident = incident_create(title="API errors", system_ids=[api.pk], initial_message="first", actor="system")
    for n in range(55):
        incident_add_update(incident=incident, message=f"update {n}", actor="system")
    now = timezone.now()
    planned(maintenance_create(title="Database upgrade", system_ids=[api.pk], start_at=now + timedelta(days=1),
                               end_at=now + timedelta(days=1, hours=2), actor="system"), "Planned")

    for path, version in (("/status/feed.atom", "atom10"), ("/status/feed.rss", "rss20")):
        response = Client().get(path)
        feed = feedparser.parse(response.content)
        assert not feed.bozo, feed.bozo_exception
        assert feed.version == version
        assert len(feed.entries) == 50
        assert feed.entries[0].title == "Database upgrade (scheduled)" and feed.entries[0].summary == "Planned"
        assert [e.summary for e in feed.entries[1:4]] == ["update 54", "update 53", "update 52"]
        assert feed.entries[1].link.startswith(f"http://testserver/status/incidents/{incident.pk}/#update-")
        assert len({e.id for e in feed.entries}) == 50
        assert "public" in response["Cache-Control"]


def test_the_calendar_has_scheduled_and_in_progress_windows(api):
    now = timezone.now().replace(microsecond=0)
    upcoming = maintenance_create(title="Database upgrade", system_ids=[api.pk], start_at=now + timedelta(days=1),
                                  end_at=now + timedelta(days=1, hours=2), actor="system")
    running = maintenance_create(title="Network work", system_ids=[api.pk], start_at=now - timedelta(hours=1),
                                 end_at=now + timedelta(hours=1), status="in_progress", actor="system")
    maintenance_create(title="Old work", system_ids=[api.pk], start_at=now - timedelta(days=3),
                       end_at=now - timedelta(days=3, hours=-1), status="completed", actor="system")

    response = Client().get("/status/maintenance.ics")

    assert response["Content-Type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    events = {str(e["summary"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {"Network work", "Database upgrade"}
    assert events["Database upgrade"].decoded("dtstart") == upcoming.start_at
    assert events["Database upgrade"].decoded("dtend") == upcoming.end_at
    assert str(events["Network work"]["uid"]).startswith(f"maintenance-{running.pk}@")
    assert str(events["Network work"]["url"]).endswith(f"/status/maintenance/{running.pk}/")
