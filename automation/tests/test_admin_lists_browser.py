"""The runs list at 1,400 px in Chromium: Status and Reason stay on screen whatever the names and reasons."""

import pytest

from automation.models import Run
from testing.browser import admin_login, browser_page

from .engine_support import make_automation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_status_and_reason_are_on_screen_at_1400_px(live_server, admin_user):
    automation = make_automation({"name": "Page the on-call engineer when checkout stays degraded " * 2,
                                  "triggers": [{"event": "automation.manual"}],
                                  "actions": [{"action": "automation.log", "config": {"message": "x"}}]})
    for n in range(5):
        Run.objects.create(automation=automation, automation_version=1, document={}, trigger_id="t",
                           event="healthcheck.system_health_changed", actor="user:test", bucket=str(automation.pk),
                           status="skipped", reason="filtered out: " + "a long explanation of the condition " * 8,
                           context_key=f"0c8a3f5e-1d2b-4c6d-8e9f-0a1b2c3d4e5{n}")

    with browser_page() as page:
        page.set_viewport_size({"width": 1400, "height": 900})
        admin_login(page, live_server.url, "/admin/automation/run/")
        page.wait_for_selector("#result_list")
        for column in ("column-status", "column-short_reason"):
            box = page.locator(f"#result_list th.{column}").bounding_box()
            assert box is not None and box["x"] + box["width"] <= 1400, (column, box)
        assert page.evaluate("document.documentElement.scrollWidth") <= 1400
