"""The uptime bar and the response-time chart in a real headless Chromium, against known results and roll-ups."""

from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from catalog.services import system_create
from checks.history import history_refresh
from checks.models import Check, CheckDailyRollup
from checks.results import result_record
from testing.browser import browser_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LATENCIES = {3: 100, 2: 250, 1: 400}  # hours ago -> ms, each in its own quarter hour


def test_uptime_bar_and_chart_in_chromium(live_server):
    system = system_create(name="Checkout API", actor="system")
    check = Check.objects.create(system=system, name="web", kind="http", url="http://127.0.0.1:9/")
    now = timezone.now()
    today = now.astimezone(UTC).date()
    bad_day, good_day = today - timedelta(days=3), today - timedelta(days=10)
    CheckDailyRollup.objects.create(check_ref=check, day=bad_day, runs=1440, failures=72)
    CheckDailyRollup.objects.create(check_ref=check, day=good_day, runs=1440, failures=0)
    history_refresh(now=now)
    for hours, latency in LATENCIES.items():
        result_record(check=check, at=now - timedelta(hours=hours), ok=True, latency_ms=latency)
    result_record(check=check, at=now - timedelta(hours=5), ok=False, latency_ms=None,
                               error="timed out")

    with browser_page() as page:
        page.goto(f"{live_server.url}/status/")
        # A day with failures is its own mark; a run of days without failures or without data is one mark.
        marks = page.locator("svg.uptime-bar .day")
        assert [marks.nth(n).get_attribute("class") for n in range(marks.count())] == [
            "day nodata", "day up", "day nodata", "day down", "day nodata", "day down"]
        # Drawn, side by side, oldest on the left; the first run of 79 days without data as wide as its days.
        boxes = [marks.nth(n).bounding_box() for n in range(6)]
        assert all(a["x"] + a["width"] < b["x"] for a, b in zip(boxes, boxes[1:], strict=False))
        assert boxes[1]["width"] > 2 and boxes[1]["height"] > 20 and boxes[0]["width"] > 70 * boxes[1]["width"]
        bad = marks.nth(3)
        assert bad.locator("title").text_content() == f"{bad_day:%Y-%m-%d}: 95.00 % up (72 of 1440 checks failed)"
        assert marks.nth(1).locator("title").text_content() == (
            f"{good_day:%Y-%m-%d}: 100.00 % up (0 of 1440 checks failed)")
        assert marks.nth(2).locator("title").text_content() == (
            f"{good_day + timedelta(days=1):%Y-%m-%d} to {bad_day - timedelta(days=1):%Y-%m-%d}: no data")
        assert page.locator("svg.uptime-bar").get_attribute("aria-label").startswith("Uptime over the last 90 days")

        assert page.locator("svg.latency-chart").count() == 0  # the chart is on the system's own page
        page.click("text=Checkout API")
        page.wait_for_url(f"**/status/systems/{system.pk}/")
        assert page.locator("svg.uptime-bar .day").count() == 6  # the same bar as on the main page

        outage = page.locator("svg.latency-chart circle.failed")
        assert outage.count() == 1 and outage.get_attribute("cy") == "112"  # on the 0 line
        assert outage.locator("title").text_content().endswith("UTC: no response (1 check, 1 failed)")
        points = page.locator("svg.latency-chart circle.point:not(.failed)")
        assert points.count() == 3
        assert [int(points.nth(n).get_attribute("data-avg-ms")) for n in range(3)] == [100, 250, 400]
        # Higher latency is drawn higher up (smaller y on screen), in proportion: 0 ms at the bottom line.
        ys = [points.nth(n).bounding_box()["y"] for n in range(3)]
        assert ys[0] > ys[1] > ys[2]
        # The axis tops out at 500 ms; the plot runs from y=112 (0 ms) up to y=8 (500 ms).
        assert page.locator("svg.latency-chart .grid text").first.text_content() == "500 ms"
        assert [float(points.nth(n).get_attribute("cy")) for n in range(3)] == [
            pytest.approx(112 - ms / 500 * 104, abs=0.05) for ms in (100, 250, 400)]
        titles = [points.nth(n).locator("title").text_content() for n in range(3)]
        assert [t.split(": ", 1)[1] for t in titles] == [
            f"average {ms} ms, 95th percentile {ms} ms (1 check)" for ms in (100, 250, 400)]
        assert "average about 250 ms" in page.locator("svg.latency-chart").get_attribute("aria-label")
        assert page.locator(".uptime").inner_text().startswith("Uptime")
