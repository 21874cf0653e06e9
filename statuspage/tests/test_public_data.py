"""summary.json's exact shape, the banner, the SVG badges and the HTTP caching of the public pages."""

from datetime import timedelta
from xml.etree import ElementTree

import pytest
from django.test import Client
from django.utils import timezone

from catalog.services import health_report, system_create
from checks.history import history_refresh
from checks.models import Check, CheckDailyRollup
from incidents.services import incident_add_update, incident_create
from maintenance.services import maintenance_create
from statuspage.overall import overall_status

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("statuses", "maintenance", "indicator", "text"), [
    (["healthy", "healthy", None], False, "none", "All systems operational"),
    (["healthy", "degraded"], False, "minor", "Degraded performance"),
    (["healthy", "unhealthy", "degraded"], False, "major", "Partial outage"),
    (["unhealthy", "unhealthy", "healthy"], False, "critical", "Major outage"),
    (["healthy"], True, "maintenance", "Under maintenance"),
    (["degraded"], True, "minor", "Degraded performance"),
    ([], False, "none", "All systems operational"),
])
def test_the_banner(statuses, maintenance, indicator, text):
    overall = overall_status(statuses=statuses, maintenance_in_progress=maintenance)
    assert (overall.indicator, overall.description) == (indicator, text)


def test_a_system_under_maintenance_does_not_make_the_page_read_outage():
    db = system_create(name="Database", actor="system")
    health_report(system=db, status="unhealthy", actor="system")
    health_report(system=system_create(name="Web", actor="system"), status="healthy", actor="system")
    now = timezone.now()
    maintenance_create(title="Upgrade", system_ids=[db.pk], start_at=now - timedelta(minutes=5),
                       end_at=now + timedelta(hours=1), status="in_progress", actor="system")

    html = Client().get("/status/").content.decode()

    assert '<div class="banner indicator-maintenance" role="status">Under maintenance</div>' in html


def test_summary_json_has_exactly_the_documented_shape():
    api = system_create(name="API", actor="system")
    health_report(system=api, status="degraded", actor="system")
    bare = system_create(name="Bare", actor="system")
    check = Check.objects.create(system=api, name="web", kind="http", url="http://127.0.0.1:9/")
    CheckDailyRollup.objects.create(check_ref=check, day=timezone.now().date() - timedelta(days=1), runs=3,
                                    failures=1)
    history_refresh(now=timezone.now())
    incident = incident_create(title="Slow API", system_ids=[api.pk], initial_message="Looking",
                               actor="user:alice")
    incident_add_update(incident=incident, message="Found it", status_change="identified", actor="user:alice")
    now = timezone.now()
    window = maintenance_create(title="Upgrade", system_ids=[api.pk], start_at=now + timedelta(days=1),
                                end_at=now + timedelta(days=1, hours=1), actor="system")

    response = Client().get("/status/summary.json")
    body = response.json()

    assert response["Content-Type"] == "application/json"
    assert set(body) == {"page", "status", "groups", "systems", "incidents", "maintenances"}
    assert set(body["page"]) == {"name", "url", "updated_at"} and body["page"]["name"] == "System status"
    assert body["page"]["url"] == "http://localhost:8000/status/"
    assert body["status"] == {"indicator": "minor", "description": "Degraded performance"}
    assert body["groups"] == []
    assert body["systems"] == [
        {"id": str(api.pk), "name": "API", "status": "degraded", "impact_status": "degraded", "group_id": None,
         "uptime_90d": 66.66},
        {"id": str(bare.pk), "name": "Bare", "status": None, "impact_status": None, "group_id": None,
         "uptime_90d": None},
    ]
    [open_incident] = body["incidents"]
    assert open_incident["id"] == str(incident.pk) and open_incident["status"] == "identified"
    assert open_incident["system_ids"] == [str(api.pk)]
    assert [(u["message"], u["status"]) for u in open_incident["updates"]] == [("Found it", "identified"),
                                                                                ("Looking", "investigating")]
    assert "created_by" not in open_incident["updates"][0] and "alice" not in response.content.decode()
    [upcoming] = body["maintenances"]
    assert (upcoming["id"], upcoming["status"]) == (str(window.pk), "scheduled")


def test_badges_are_svg_with_the_status_and_the_uptime():
    api = system_create(name="API <&>", actor="system")
    health_report(system=api, status="unhealthy", actor="system")
    check = Check.objects.create(system=api, name="web", kind="http", url="http://127.0.0.1:9/")
    CheckDailyRollup.objects.create(check_ref=check, day=timezone.now().date() - timedelta(days=2), runs=10000,
                                    failures=1)
    svg = "{http://www.w3.org/2000/svg}"

    status = Client().get(f"/status/badge/{api.pk}.svg")
    uptime = Client().get(f"/status/badge/{api.pk}/uptime.svg")

    assert status["Content-Type"].startswith("image/svg+xml")
    root = ElementTree.fromstring(status.content)
    assert root.tag == f"{svg}svg"
    assert [t.text for t in root.iter(f"{svg}text")] == ["API <&>", "unhealthy"]
    assert [t.text for t in ElementTree.fromstring(uptime.content).iter(f"{svg}text")] == ["uptime 90d", "99.99%"]
    assert "public" in uptime["Cache-Control"]
    assert Client().get("/status/badge/00000000-0000-0000-0000-000000000000.svg").status_code == 404


def test_a_system_without_data_gets_grey_no_data_badges():
    bare = system_create(name="Bare", actor="system")
    for path in (f"/status/badge/{bare.pk}.svg", f"/status/badge/{bare.pk}/uptime.svg"):
        texts = [t.text for t in ElementTree.fromstring(Client().get(path).content).iter(
            "{http://www.w3.org/2000/svg}text")]
        assert texts[-1] == "no data"


@pytest.mark.parametrize("path", ["/status/", "/status/summary.json", "/status/history/", "/status/feed.atom",
                                  "/status/feed.rss", "/status/maintenance.ics"])
def test_pages_are_publicly_cacheable_and_answer_304_until_something_changes(path, settings):
    settings.CHECKSTACK_STATUS_CACHE_SECONDS = 45
    api = system_create(name="API", actor="system")
    client = Client()

    first = client.get(path)
    etag, modified = first["ETag"], first["Last-Modified"]
    assert sorted(first["Cache-Control"].split(", ")) == ["max-age=45", "public"]

    again = client.get(path, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag
    assert "public" in again["Cache-Control"]
    assert client.get(path, HTTP_IF_MODIFIED_SINCE=modified).status_code == 304

    health_report(system=api, status="unhealthy", actor="system")
    changed = client.get(path, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag


def test_a_comment_only_incident_update_changes_the_etag():
    api = system_create(name="API", actor="system")
    incident = incident_create(title="Slow", system_ids=[api.pk], actor="system")
    etag = Client().get("/status/")["ETag"]

    incident_add_update(incident=incident, message="Still looking", actor="system")

    response = Client().get("/status/", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200 and "Still looking" in response.content.decode()
