"""The operator's lists: names instead of raw ids, runs whose Status and Reason stay on screen."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape

from automation.entities.actor import acting_as
from automation.models import Run
from catalog.services import health_report, system_create

from .engine_support import make_automation

pytestmark = pytest.mark.django_db


@pytest.fixture
def automation():
    return make_automation({"name": "Open an incident when the shop is down for a very long while indeed",
                            "triggers": [{"event": "automation.manual"}],
                            "actions": [{"action": "automation.log", "config": {"message": "x"}}]})


def a_run(automation, reason: str = "") -> Run:
    return Run.objects.create(automation=automation, automation_version=1, document={}, trigger_id="t",
                              event="healthcheck.system_health_changed", actor="user:test",
                              bucket=str(automation.pk), status="skipped", reason=reason,
                              context_key="0c8a3f5e-1d2b-4c6d-8e9f-0a1b2c3d4e5f")


def test_the_change_log_names_entities_and_run_actors(admin_client, automation):
    shop = system_create(name="Shop", actor="system")
    run = a_run(automation)
    with acting_as(f"run:{run.pk}"):
        health_report(system=shop, status="degraded", actor=f"run:{run.pk}")

    for url in ("/admin/automation/transition/", "/admin/automation/changeevent/"):
        html = admin_client.get(url).content.decode()
        assert f'<span title="{shop.pk}">Shop</span>' in html, url
        assert f'href="/admin/automation/run/{run.pk}/change/"' in html and "run of Open an incident" in html, url
        assert f"<td class=\"field-entity\">{shop.pk}" not in html


def test_the_change_log_names_a_page_of_entities_in_a_fixed_number_of_queries(admin_client):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get("/admin/automation/transition/").status_code == 200
        return len(queries)

    # One query per kind on the page (system, health), not one per row.
    health_report(system=system_create(name="s0", actor="system"), status="healthy", actor="system")
    few = count()
    for n in range(1, 8):
        health_report(system=system_create(name=f"s{n}", actor="system"), status="healthy", actor="system")

    assert count() == few


def test_the_runs_list_cuts_long_cells_and_drops_the_context_key(admin_client, automation):
    reason = "filtered out: " + "the condition health.system.status == 'unhealthy' was false " * 4
    a_run(automation, reason=reason)

    html = admin_client.get("/admin/automation/run/").content.decode()

    headers = re.findall(r'<th scope="col" class="[^"]*column-(\w+)', html)
    assert headers == ["created_at", "automation_name", "event_name", "status", "short_reason"]
    assert "0c8a3f5e-1d2b" not in html
    assert f'<span title="{escape(reason)}">{escape(reason[:89])}…</span>' in html
    assert f"{automation.name[:39]}…</span>" in html
