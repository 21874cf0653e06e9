"""Uptime of systems from daily roll-ups and quarter-hour buckets: no-data days, UTC midnight, the 24-hour series."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import System
from catalog.services import system_create
from checks.buckets import buckets_rebuild
from checks.history import history_refresh
from checks.models import Check, CheckBucketRollup, CheckDailyRollup, CheckResult, SystemDailyHistory
from checks.results import result_record
from checks.uptime import (
    BUCKET,
    HISTORY_DAYS,
    Tally,
    percent_text,
    series_start,
    uptime_for_systems,
    with_has_checks,
)

# Both passes: the grouped sums run in SQL on both databases.
pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NOW = datetime(2026, 12, 5, 7, 40, tzinfo=UTC)
TODAY = NOW.date()


def make_check(system, name="http"):
    return Check.objects.create(system=system, name=name, kind="http", url="http://127.0.0.1:9/healthz")


@pytest.fixture
def shop():
    return system_create(name="Shop", actor="system")


def test_percent_text_rounds_down_and_says_no_data():
    assert percent_text(None) == "no data"
    assert percent_text(Tally(10_000, 1).percent) == "99.99 %"
    assert percent_text(Tally(100_000, 1).percent) == "99.99 %"  # never "100.00 %" with a failure
    assert percent_text(Tally(4, 0).percent) == "100.00 %"
    assert Tally(0, 0).percent is None


def test_series_starts_on_the_quarter_hour_a_day_before():
    assert series_start(NOW) == datetime(2026, 12, 4, 7, 30, tzinfo=UTC)


def test_days_come_from_rollups_today_from_results_and_empty_days_are_no_data(shop):
    http, tcp = make_check(shop), make_check(shop, "tcp")
    CheckDailyRollup.objects.create(check_ref=http, day=TODAY - timedelta(days=1), runs=100, failures=5)
    CheckDailyRollup.objects.create(check_ref=tcp, day=TODAY - timedelta(days=1), runs=100, failures=0)
    CheckDailyRollup.objects.create(check_ref=http, day=TODAY - timedelta(days=40), runs=10, failures=10)
    CheckDailyRollup.objects.create(check_ref=http, day=TODAY - timedelta(days=HISTORY_DAYS), runs=9, failures=9)
    CheckDailyRollup.objects.create(check_ref=http, day=TODAY, runs=999, failures=999)  # stale: today is raw
    result_record(check=http, at=NOW - timedelta(minutes=5), ok=True, latency_ms=10)
    result_record(check=tcp, at=NOW - timedelta(minutes=5), ok=False, latency_ms=None)

    uptime = uptime_for_systems(system_ids=[shop.pk], now=NOW)[str(shop.pk)]

    assert len(uptime.days) == HISTORY_DAYS
    assert uptime.days[0].day == TODAY - timedelta(days=HISTORY_DAYS - 1)
    assert uptime.days[-1].day == TODAY and uptime.days[-1].tally == Tally(2, 1)
    assert uptime.days[-2].tally == Tally(200, 5)
    assert uptime.days[-41].tally == Tally(10, 10)
    assert uptime.days[-3].tally.percent is None  # no data, not 100 %
    assert uptime.last_24h == Tally(2, 1)
    assert uptime.last_30d == Tally(202, 6)
    assert uptime.last_90d == Tally(212, 16)  # the day 90 days ago is out of range


def test_utc_midnight_splits_today_from_yesterday_in_the_raw_results(shop):
    check = make_check(shop)
    midnight = datetime(2026, 12, 5, tzinfo=UTC)
    result_record(check=check, at=midnight - timedelta(microseconds=1), ok=False, latency_ms=1)
    result_record(check=check, at=midnight, ok=True, latency_ms=1)

    uptime = uptime_for_systems(system_ids=[shop.pk], now=NOW)[str(shop.pk)]

    assert uptime.days[-1].tally == Tally(1, 0)  # yesterday's result counts only through its roll-up
    assert uptime.last_24h == Tally(2, 1)


def test_the_series_buckets_latency_by_quarter_hour(shop):
    check = make_check(shop)
    start = series_start(NOW)
    for minute, latency in ((0, 100), (5, 200), (10, 600)):
        result_record(check=check, at=start + timedelta(minutes=minute), ok=True, latency_ms=latency)
    result_record(check=check, at=start - timedelta(seconds=1), ok=True, latency_ms=5000)  # before
    result_record(check=check, at=NOW - timedelta(minutes=1), ok=False, latency_ms=None)

    series = uptime_for_systems(system_ids=[shop.pk], now=NOW, series=True)[str(shop.pk)].series

    assert len(series) == 97 and series[1].start - series[0].start == BUCKET
    assert series[0].tally == Tally(3, 0)
    assert series[0].avg_ms == pytest.approx(300)
    assert series[0].p95_ms == pytest.approx(560)
    assert series[1].tally == Tally() and series[1].avg_ms is None
    assert series[-1].tally == Tally(1, 1) and series[-1].avg_ms is None


def test_two_queries_whatever_the_number_of_systems(shop):
    systems = [shop]
    for n in range(5):
        system = system_create(name=f"s{n}", actor="system")
        check = make_check(system)
        CheckDailyRollup.objects.create(check_ref=check, day=TODAY - timedelta(days=2), runs=1)
        result_record(check=check, at=NOW - timedelta(hours=1), ok=True, latency_ms=3)
        systems.append(system)
    make_check(shop)

    with CaptureQueriesContext(connection) as queries:
        uptime = uptime_for_systems(system_ids=[s.pk for s in systems], now=NOW)

    assert len(queries) == 2
    assert set(uptime) == {str(s.pk) for s in systems}
    assert all(u.days[-3].tally == Tally(1, 0) for key, u in uptime.items() if key != str(shop.pk))


def test_systems_are_flagged_by_whether_they_have_checks(shop):
    system_create(name="Bare", actor="system")
    make_check(shop)
    make_check(shop, "tcp")

    flags = dict(with_has_checks(System.objects.all()).values_list("name", "has_checks"))

    assert flags == {"Shop": True, "Bare": False}


def test_buckets_written_with_each_result_equal_a_rebuild_from_the_results(shop):
    check, other = make_check(shop), make_check(shop, "tcp")
    start = series_start(NOW)
    for n in range(40):
        result_record(check=check if n % 3 else other, at=start + timedelta(minutes=n * 7), ok=n % 9 != 0,
                      latency_ms=None if n % 13 == 0 else 10 + (n * 37) % 101)

    def rows():
        return sorted(CheckBucketRollup.objects.values_list("check_ref_id", "start", "runs", "failures", "latencies"))

    live = rows()
    assert buckets_rebuild(check_ids=[check.pk, other.pk], since=start, until=NOW) == len(live)
    assert rows() == live
    assert sum(r[2] for r in live) == 40 and all(r[4] == sorted(r[4]) for r in live)


def test_the_page_figures_never_read_raw_results(shop):
    check = make_check(shop)
    result_record(check=check, at=NOW - timedelta(minutes=3), ok=False)
    CheckResult.objects.all().delete()  # as if purged: the buckets still count the run

    uptime = uptime_for_systems(system_ids=[shop.pk], now=NOW)[str(shop.pk)]

    assert uptime.last_24h == Tally(1, 1) and uptime.days[-1].tally == Tally(1, 1) and uptime.series == []


def test_the_fleet_history_gives_the_figures_of_the_roll_ups(shop):
    http, tcp = make_check(shop), make_check(shop, "tcp")
    for back, failures in ((1, 5), (2, 0), (40, 10), (89, 3), (90, 9)):
        CheckDailyRollup.objects.create(check_ref=http, day=TODAY - timedelta(days=back), runs=100, failures=failures)
    CheckDailyRollup.objects.create(check_ref=tcp, day=TODAY - timedelta(days=1), runs=50, failures=1)
    result_record(check=http, at=NOW - timedelta(minutes=5), ok=False)

    assert history_refresh(now=NOW) == 1
    fleet = uptime_for_systems(system_ids=[shop.pk], now=NOW, fleet=True)[str(shop.pk)]
    direct = uptime_for_systems(system_ids=[shop.pk], now=NOW)[str(shop.pk)]

    assert fleet.days == direct.days and fleet.last_90d == direct.last_90d == Tally(451, 20)
    assert fleet.days[-2].tally == Tally(150, 6)


def test_a_history_written_yesterday_is_read_shifted_by_a_day(shop):
    check = make_check(shop)
    CheckDailyRollup.objects.create(check_ref=check, day=TODAY - timedelta(days=1), runs=10, failures=2)
    CheckDailyRollup.objects.create(check_ref=check, day=TODAY - timedelta(days=89), runs=7, failures=0)
    history_refresh(now=NOW - timedelta(days=1))  # its row ends yesterday, its first day is now out of range

    days = uptime_for_systems(system_ids=[shop.pk], now=NOW, fleet=True)[str(shop.pk)].days

    assert days[-2].tally == Tally(10, 2) and days[0].day == TODAY - timedelta(days=89)
    assert days[0].tally == Tally(7, 0)
    assert sum(d.tally.runs for d in days) == 17


def test_a_system_without_roll_ups_loses_its_history_row(shop):
    check = make_check(shop)
    CheckDailyRollup.objects.create(check_ref=check, day=TODAY - timedelta(days=3), runs=10)
    history_refresh(now=NOW)
    check.delete()

    assert history_refresh(now=NOW) == 0
    assert not SystemDailyHistory.objects.exists()


def test_the_fleet_read_by_check_gives_the_figures_of_the_join_and_only_for_the_systems_asked(shop):
    # Given a system with two checks, another with one, and buckets on both sides of midnight
    other = system_create(name="Other", actor="system")
    http, tcp, elsewhere = make_check(shop), make_check(shop, "tcp"), make_check(other)
    result_record(check=http, at=NOW - timedelta(minutes=5), ok=False, latency_ms=10)
    result_record(check=tcp, at=NOW - timedelta(minutes=20), ok=True, latency_ms=10)
    result_record(check=tcp, at=NOW - timedelta(hours=10), ok=False)  # yesterday, inside the 24 hours
    result_record(check=elsewhere, at=NOW - timedelta(minutes=5), ok=True, latency_ms=3)
    history_refresh(now=NOW)

    # When the fleet's figures are read by check (every bucket, no id list) and by the join
    with CaptureQueriesContext(connection) as queries:
        by_check = uptime_for_systems(system_ids=[shop.pk], now=NOW, fleet=True,
                                      checks={str(http.pk): str(shop.pk), str(tcp.pk): str(shop.pk)})
    joined = uptime_for_systems(system_ids=[shop.pk], now=NOW, fleet=True)

    # Then both say the same, the other system's check is left out, and no query sends an id list
    assert set(by_check) == {str(shop.pk)}
    mine = by_check[str(shop.pk)]
    assert mine.last_24h == joined[str(shop.pk)].last_24h == Tally(3, 2)
    # (yesterday's result is in the 24 hours; the days before today come from roll-ups, none written here)
    assert mine.days[-1].tally == Tally(2, 1) and mine.last_90d == mine.last_30d == Tally(2, 1)
    assert len(queries) == 2 and not any(str(shop.pk).replace("-", "") in q["sql"].replace("-", "")
                                         for q in queries)


def test_a_rewritten_history_row_is_read_afresh_in_the_same_process(shop):
    # Given a fleet page read once (its rows decoded and summed once per process)
    check = make_check(shop)
    CheckDailyRollup.objects.create(check_ref=check, day=TODAY - timedelta(days=3), runs=10, failures=1)
    history_refresh(now=NOW)
    before = uptime_for_systems(system_ids=[shop.pk], now=NOW, fleet=True)[str(shop.pk)]

    # When the refresh rewrites the row with a new day of roll-ups
    CheckDailyRollup.objects.create(check_ref=check, day=TODAY - timedelta(days=40), runs=5, failures=5)
    history_refresh(now=NOW)
    after = uptime_for_systems(system_ids=[shop.pk], now=NOW, fleet=True)[str(shop.pk)]

    # Then the new figures show, the 30 days without the older day
    assert before.last_90d == Tally(10, 1) and after.last_90d == Tally(15, 6)
    assert after.last_30d == Tally(10, 1) and after.days[-41].tally == Tally(5, 5)
