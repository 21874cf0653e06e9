"""The status page's uptime history: the bar, the chart and the percentages of systems with checks."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.services import health_report, system_create
from checks.history import history_refresh
from checks.models import Check, CheckDailyRollup
from checks.results import result_record
from checks.uptime import BUCKET, DayUptime, LatencyBucket, Tally, series_start
from incidents.services import incident_create
from statuspage.bars import day_state, uptime_bar
from statuspage.charts import latency_chart, nice_ceiling

from .bars_support import drawn_days

pytestmark = pytest.mark.django_db


def with_history(name: str, *, failures_yesterday: int = 0):
    system = system_create(name=name, actor="system")
    check = Check.objects.create(system=system, name="web", kind="http", url="http://10.1.2.3:8080/internal-path")
    today = timezone.now().astimezone(UTC).date()
    CheckDailyRollup.objects.create(check_ref=check, day=today - timedelta(days=1), runs=1440,
                                    failures=failures_yesterday, latency_p50_ms=40)
    CheckDailyRollup.objects.create(check_ref=check, day=today - timedelta(days=2), runs=1440, failures=0)
    history_refresh(now=timezone.now())  # what the roll-up refresh does after writing roll-ups
    result_record(check=check, at=timezone.now() - timedelta(minutes=1), ok=True, latency_ms=42,
                               error="")
    return system


@pytest.mark.postgres  # also on PostgreSQL, where the figures are aggregated in SQL
def test_a_system_with_checks_shows_its_bar_and_uptime_its_page_the_chart_and_others_stay_as_they_were():
    shop = with_history("Shop", failures_yesterday=30)
    plain = system_create(name="Reported only", actor="system")
    health_report(system=plain, status="healthy", actor="system")

    html = Client().get("/status/").content.decode()
    own_page = Client().get(f"/status/systems/{shop.pk}/").content.decode()

    # The main page draws the bars of every system; the 24-hour chart is on the system's own page.
    assert html.count('class="uptime-bar"') == 1 and html.count('class="latency-chart"') == 0
    assert f'href="/status/systems/{shop.pk}/"' in html
    assert own_page.count('class="uptime-bar"') == 1 and own_page.count('class="latency-chart"') == 1
    assert 'data-avg-ms="42"' in own_page
    assert drawn_days(html) == 90 and drawn_days(html, "nodata") == 87
    today = timezone.now().astimezone(UTC).date()
    yesterday = (today - timedelta(days=1)).isoformat()
    # The 87 days without data are one mark with one tooltip; each other day is its own.
    assert html.count('data-days="87"') == 1 and html.count("<rect class=\"day ") == 4
    assert (f"<title>{today - timedelta(days=89):%Y-%m-%d} to {today - timedelta(days=3):%Y-%m-%d}: no data"
            "</title>") in html
    assert f"<title>{yesterday}: 97.91 % up (30 of 1440 checks failed)</title>" in html
    assert "24 hours: <strong>100.00 %</strong>" in html
    assert "30 days: <strong>98.95 %</strong>" in html  # (2881 - 30) / 2881, rounded down
    assert (f'aria-label="Uptime over the last 90 days: 1 day with failures, 87 days without data. '
            f'Most recent failures: {yesterday} 97.91 %."') in html
    shop, reported = html.index("<strong>Shop</strong>"), html.index("<strong>Reported only</strong>")
    assert reported < shop < html.index("uptime-bar")  # by name; only Shop's entry has a bar


def test_the_history_shows_nothing_of_the_checks_themselves():
    system = with_history("Shop")
    result_record(check=system.checks.get(), at=timezone.now(), ok=False,
                               error="connection refused by 10.1.2.3")

    for path in ("/status/", f"/status/systems/{system.pk}/"):
        html = Client().get(path).content.decode()
        for hidden in ("10.1.2.3", "internal-path", "web", "connection refused"):
            assert hidden not in html, (path, hidden)


def page_queries() -> int:
    with CaptureQueriesContext(connection) as queries:
        assert Client().get("/status/").status_code == 200
    return len(queries)


@pytest.mark.postgres
def test_query_count_is_the_same_for_one_or_many_systems_with_checks():
    def add(n):
        system = with_history(f"s{n}")
        incident_create(title=f"i{n}", system_ids=[system.pk], initial_message="m", actor="system")

    add(0)
    one = page_queries()
    for n in range(1, 8):
        add(n)

    assert page_queries() == one <= 15  # the page's 11 and the ETag's 4
    assert Client().get("/status/").content.decode().count('class="uptime-bar"') == 8


def test_day_states_and_the_bar_label():
    day = datetime(2026, 12, 1, tzinfo=UTC).date()
    states = [day_state(DayUptime(day, t)) for t in (Tally(), Tally(100, 0), Tally(1000, 5), Tally(100, 2))]
    assert states == ["nodata", "up", "partial", "down"]
    bar = uptime_bar([DayUptime(day, Tally(100, 2)), DayUptime(day, Tally())])
    assert [b.title for b in bar["bars"]] == ["2026-12-01: 98.00 % up (2 of 100 checks failed)", "2026-12-01: no data"]
    assert bar["width"] == 14


def test_a_run_of_days_without_failures_is_one_mark_with_one_tooltip():
    first = datetime(2026, 12, 1, tzinfo=UTC).date()
    tallies = [Tally(), Tally(), Tally(100, 0), Tally(200, 0), Tally(100, 1), Tally(100, 0)]
    days = [DayUptime(first + timedelta(days=n), t) for n, t in enumerate(tallies)]

    marks = uptime_bar(days)["bars"]

    assert [(m.x, m.state, m.days) for m in marks] == [(0, "nodata", 2), (16, "up", 2), (32, "partial", 1),
                                                       (40, "up", 1)]
    assert [m.title for m in marks] == [
        "2026-12-01 to 2026-12-02: no data", "2026-12-03 to 2026-12-04: 100.00 % up (0 of 300 checks failed)",
        "2026-12-05: 99.00 % up (1 of 100 checks failed)", "2026-12-06: 100.00 % up (0 of 100 checks failed)"]


def test_the_chart_breaks_its_line_at_buckets_without_latency_and_scales_to_a_round_top():
    start = series_start(datetime(2026, 12, 5, 8, tzinfo=UTC))
    series = [LatencyBucket(start + n * BUCKET, Tally(1, 0), 100.0, 180.0) for n in range(3)]
    series[1] = LatencyBucket(start + BUCKET, Tally(1, 1), None, None)

    chart = latency_chart(series)

    assert chart["top"] == 200 and nice_ceiling(201) == 500 and nice_ceiling(0) == 10
    assert len(chart["lines"]) == 2
    assert [p.avg_ms for p in chart["points"]] == [100, None, 100]  # the failed quarter hour on the 0 line
    assert chart["points"][0].y == pytest.approx(60.0)  # halfway up the plot (8..112)
    assert chart["points"][0].title == "08:00–08:15 UTC: average 100 ms, 95th percentile 180 ms (1 check)"
    assert latency_chart([])["label"] == "Response time over the last 24 hours: no measurements."


def test_a_quarter_hour_of_failures_without_a_response_is_a_red_point_on_the_zero_line():
    start = series_start(datetime(2026, 12, 5, 8, tzinfo=UTC))
    series = [LatencyBucket(start, Tally(2, 0), 50.0, 50.0), LatencyBucket(start + BUCKET, Tally(3, 3), None, None),
              LatencyBucket(start + 2 * BUCKET, Tally(), None, None)]

    chart = latency_chart(series)

    failed = chart["points"][1]
    assert len(chart["points"]) == 2  # the empty quarter hour has no point
    assert (failed.y, failed.avg_ms, failed.failed) == (112, None, True)
    assert failed.title == "08:15–08:30 UTC: no response (3 checks, 3 failed)"
    assert chart["lines"] == [f"{chart['points'][0].x},{chart['points'][0].y}"]


def test_today_is_its_own_mark_and_the_label_counts_it_with_the_past_drawn_once():
    from statuspage.bars import _past_bar, uptime_bar_markup

    first = datetime(2026, 12, 1, tzinfo=UTC).date()
    dates = [first + timedelta(days=n) for n in range(8)]
    past = [(100, 0), (100, 1), (100, 2), (0, 0), (100, 3), (100, 4), (100, 5)]
    _past_bar.cache_clear()

    markup = uptime_bar_markup(dates=dates, tallies=[*past, (10, 0)])
    again = uptime_bar_markup(dates=dates, tallies=[*past, (10, 1)])  # a new result today: the past reused

    assert _past_bar.cache_info().hits == 1 and _past_bar.cache_info().misses == 1
    # A day without failures after one with none is still its own mark when it is today.
    assert "<title>2026-12-08: 100.00 % up (0 of 10 checks failed)</title>" in markup
    assert "<title>2026-12-08: 90.00 % up (1 of 10 checks failed)</title>" in again
    assert ('aria-label="Uptime over the last 8 days: 5 days with failures, 1 day without data. Most recent '
            'failures: 2026-12-07 95.00 %, 2026-12-06 96.00 %, 2026-12-05 97.00 %, 2026-12-03 98.00 %, '
            '2026-12-02 99.00 %."') in markup
    assert ('aria-label="Uptime over the last 8 days: 6 days with failures, 1 day without data. Most recent '
            'failures: 2026-12-08 90.00 %, 2026-12-07 95.00 %, 2026-12-06 96.00 %, 2026-12-05 97.00 %, '
            '2026-12-03 98.00 %."') in again
