"""Groups as sections of /status/ and summary.json, and the "affected by" note of an impacted system."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from catalog.groups import group_create, group_set_systems
from catalog.models import Dependency
from catalog.services import health_report, system_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet():
    """Payments (position 2) and Platform (position 1); Checkout depends on Database, which is down."""
    payments = group_create(name="Payments", position=2, actor="system")
    platform = group_create(name="Platform", description="Shared infrastructure", position=1, actor="system")
    db, checkout, search = (system_create(name=n, actor="system") for n in ("Database", "Checkout", "Search"))
    Dependency.objects.create(system=checkout, depends_on=db, impact="full")
    group_set_systems(group=platform, system_ids=[db.pk], actor="system")
    group_set_systems(group=payments, system_ids=[checkout.pk], actor="system")
    health_report(system=checkout, status="healthy", actor="system")
    health_report(system=search, status="healthy", actor="system")
    health_report(system=db, status="unhealthy", message="down", actor="system")
    return {"payments": payments, "platform": platform, "db": db, "checkout": checkout, "search": search}


def test_groups_are_sections_in_position_order_then_the_ungrouped_systems(fleet):
    html = Client().get("/status/").content.decode()

    platform, payments, search = (html.index(f"<strong>{n}</strong>") for n in ("Platform", "Payments", "Search"))
    assert platform < html.index("<strong>Database</strong>") < payments < html.index("<strong>Checkout</strong>")
    assert payments < search
    assert html.count('<details class="group" open>') == 2
    assert "Shared infrastructure" in html
    assert '<div class="banner indicator-critical" role="status">Major outage</div>' in html


def test_an_impacted_system_reads_as_its_dependency_makes_it_and_says_why(fleet):
    html = Client().get("/status/").content.decode()

    checkout = html[html.index("<strong>Checkout</strong>"):]
    checkout = checkout[:checkout.index("</li>")]
    assert re.search(r'class="badge unhealthy">\s*unhealthy', checkout)
    assert '<span class="impact-note">affected by Database</span>' in checkout


def test_summary_json_lists_groups_with_their_status_and_systems(fleet):
    body = Client().get("/status/summary.json").json()

    assert body["groups"] == [
        {"id": str(fleet["platform"].pk), "name": "Platform", "status": "unhealthy",
         "system_ids": [str(fleet["db"].pk)]},
        {"id": str(fleet["payments"].pk), "name": "Payments", "status": "unhealthy",
         "system_ids": [str(fleet["checkout"].pk)]},
    ]
    checkout = next(s for s in body["systems"] if s["name"] == "Checkout")
    assert checkout == {"id": str(fleet["checkout"].pk), "name": "Checkout", "status": "healthy",
                        "impact_status": "unhealthy", "group_id": str(fleet["payments"].pk), "uptime_90d": None}


def test_the_status_badge_shows_the_impact_status(fleet):
    svg = Client().get(f"/status/badge/{fleet['checkout'].pk}.svg").content.decode()
    assert "<title>Checkout: unhealthy</title>" in svg


def _grow(n: int) -> None:
    group = group_create(name=f"g{n}", position=n, actor="system")
    upstream, downstream = (system_create(name=f"{side}{n}", actor="system") for side in ("up", "down"))
    Dependency.objects.create(system=downstream, depends_on=upstream, impact="partial")
    group_set_systems(group=group, system_ids=[upstream.pk, downstream.pk], actor="system")
    health_report(system=upstream, status="unhealthy", actor="system")


@pytest.mark.parametrize("path", ["/status/", "/status/summary.json"])
def test_the_query_count_does_not_grow_with_groups_and_impacted_systems(fleet, path):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert Client().get(path).status_code == 200
        return len(queries)

    _grow(0)
    few = count()
    for n in range(1, 8):
        _grow(n)

    assert count() == few <= 15
