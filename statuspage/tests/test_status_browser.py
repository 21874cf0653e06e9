"""The status page in a real headless Chromium, against the live test server."""

import pytest

from catalog.services import health_report, system_create
from incidents.services import incident_create
from testing.browser import dump_dom, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_status_page_in_chromium(live_server, tmp_path):
    api = system_create(name="Checkout API", actor="system")
    health_report(system=api, status="unhealthy", message="Timeouts", actor="system")
    incident_create(title="Checkout failing", system_ids=[api.pk], initial_message="We are on it", actor="system")

    dom = dump_dom(f"{live_server.url}/status/")
    for text in ("System status", "Checkout API", "unhealthy", "Timeouts", "Checkout failing", "We are on it",
                 "No maintenance scheduled."):
        assert text in dom, text

    png = screenshot(f"{live_server.url}/status/", tmp_path / "status.png")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10_000
