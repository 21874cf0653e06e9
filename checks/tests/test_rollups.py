"""Daily roll-ups: what a day's results summarise to, written idempotently, late results and the purge's floor."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import override_settings

from automation.retention import purge_expired
from catalog.services import system_create
from checks.models import Check, CheckDailyRollup, CheckResult
from checks.rollups import day_summaries, percentile, rollups_refresh, rollups_write

# Both passes: on PostgreSQL the same figures come from the SQL aggregates (percentile_cont).
pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

DAY = date(2026, 11, 20)
NOON = datetime(2026, 11, 20, 12, tzinfo=UTC)


def make_check(name="api", system_name="Shop"):
    system = system_create(name=system_name, actor="system")
    return Check.objects.create(system=system, name=name, kind="http", url="http://127.0.0.1:9/healthz")


def results(check, at, latencies, failed=()):
    CheckResult.objects.bulk_create(
        CheckResult(check_ref=check, at=at + timedelta(seconds=n), ok=n not in failed, latency_ms=latency)
        for n, latency in enumerate(latencies))


def test_percentile_interpolates_like_percentile_cont():
    assert percentile([], 0.5) is None
    assert percentile([7], 0.95) == 7
    assert percentile([10, 20, 30, 40], 0.5) == 25
    assert percentile(list(range(1, 101)), 0.95) == pytest.approx(95.05)


def test_a_day_summarises_runs_failures_and_latency_percentiles():
    check = make_check()
    results(check, NOON, [10, 20, 30, 40, 1000], failed={4})
    CheckResult.objects.create(check_ref=check, at=NOON, ok=False, latency_ms=None)  # a timeout: no latency
    results(check, NOON + timedelta(days=1), [5])  # the next day is not this one

    assert rollups_write(days=[DAY]) == 1

    rollup = CheckDailyRollup.objects.get(check_ref=check, day=DAY)
    assert (rollup.runs, rollup.failures) == (6, 2)
    assert (rollup.latency_p50_ms, rollup.latency_p95_ms, rollup.latency_max_ms) == (30, 808, 1000)


def test_the_day_is_the_utc_day_half_open_at_midnight():
    check = make_check()
    midnight = datetime(2026, 11, 21, tzinfo=UTC)
    CheckResult.objects.create(check_ref=check, at=midnight - timedelta(microseconds=1), ok=True, latency_ms=1)
    CheckResult.objects.create(check_ref=check, at=midnight, ok=False, latency_ms=2)

    summaries = day_summaries(days=[DAY, DAY + timedelta(days=1)])

    assert summaries[(str(check.pk), DAY)].runs == 1
    assert summaries[(str(check.pk), DAY)].failures == 0
    assert summaries[(str(check.pk), DAY + timedelta(days=1))].failures == 1


def test_writing_twice_changes_nothing_and_a_late_result_updates_the_day():
    check = make_check()
    results(check, NOON, [10, 20])
    rollups_write(days=[DAY])
    rollups_write(days=[DAY])
    assert CheckDailyRollup.objects.count() == 1

    CheckResult.objects.create(check_ref=check, at=NOON + timedelta(hours=11), ok=False, latency_ms=90)
    rollups_refresh(now=NOON + timedelta(days=1, hours=1))  # the next morning: yesterday is recomputed

    rollup = CheckDailyRollup.objects.get(check_ref=check, day=DAY)
    assert (rollup.runs, rollup.failures, rollup.latency_max_ms) == (3, 1, 90)


def test_refresh_covers_today_yesterday_and_every_older_day_with_results_and_no_rollup():
    check = make_check()
    other = make_check(name="db", system_name="Database")
    now = NOON + timedelta(days=10)
    for back in range(0, 11):
        results(check, now - timedelta(days=back), [back + 1])
    results(other, now - timedelta(days=5), [7, 7])
    # An old day already rolled up with more runs than its results now hold (partly purged) keeps its summary.
    CheckDailyRollup.objects.create(check_ref=check, day=DAY, runs=1440, failures=3)
    today = now.date()
    # The last tick ran yesterday, when that day had one result so far.
    CheckDailyRollup.objects.create(check_ref=check, day=today - timedelta(days=1), runs=0)

    refreshed = rollups_refresh(now=now)

    assert refreshed.days == [today - timedelta(days=1), today]
    assert refreshed.caught_up == []  # beat ticked yesterday: nothing to catch up
    days = set(CheckDailyRollup.objects.filter(check_ref=check).values_list("day", flat=True))
    assert days == {today - timedelta(days=n) for n in range(0, 11)}
    assert CheckDailyRollup.objects.get(check_ref=check, day=DAY).runs == 1440
    assert CheckDailyRollup.objects.get(check_ref=other).runs == 2
    assert CheckDailyRollup.objects.get(check_ref=check, day=today - timedelta(days=1)).runs == 1
    # A second refresh finds nothing left to backfill.
    assert rollups_refresh(now=now).backfilled == {}


def test_refresh_finishes_days_written_while_they_were_running_after_beat_was_down():
    check = make_check()
    results(check, NOON, [10])
    rollups_refresh(now=NOON)  # day still running: one run so far
    results(check, NOON + timedelta(hours=6), [20, 30])  # beat down from here for three days

    refreshed = rollups_refresh(now=NOON + timedelta(days=3))

    assert refreshed.caught_up == [DAY, DAY + timedelta(days=1)]
    assert CheckDailyRollup.objects.get(check_ref=check, day=DAY).runs == 3


def test_catching_up_never_shrinks_a_day_whose_results_were_partly_purged():
    check = make_check()
    CheckDailyRollup.objects.create(check_ref=check, day=DAY, runs=1440, failures=7, latency_max_ms=900)
    results(check, NOON, [10, 20])  # what the purge left of that day

    refreshed = rollups_refresh(now=NOON + timedelta(days=5))

    assert DAY in refreshed.caught_up
    rollup = CheckDailyRollup.objects.get(check_ref=check, day=DAY)
    assert (rollup.runs, rollup.failures, rollup.latency_max_ms) == (1440, 7, 900)


@override_settings(CHECKSTACK_RETAIN_CHECK_ROLLUPS_DAYS=30)
def test_rollup_retention_never_goes_below_ninety_days():
    check = make_check()
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    for back in (10, 89, 91, 200):
        CheckDailyRollup.objects.create(check_ref=check, day=now.date() - timedelta(days=back), runs=1)

    result = purge_expired(now=now)

    assert result.deleted["check_rollups"] == 2
    kept = sorted((now.date() - d).days for d in CheckDailyRollup.objects.values_list("day", flat=True))
    assert kept == [10, 89]


@override_settings(CHECKSTACK_RETAIN_CHECK_ROLLUPS_DAYS=400)
def test_rollups_are_kept_for_the_setting_by_default():
    check = make_check()
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    for back in (200, 399, 402):
        CheckDailyRollup.objects.create(check_ref=check, day=now.date() - timedelta(days=back), runs=1)

    purge_expired(now=now)

    assert sorted((now.date() - d).days for d in CheckDailyRollup.objects.values_list("day", flat=True)) == [200, 399]


def test_postgres_aggregates_match_the_portable_fallback():
    from django.db import connection

    from checks.rollups import _summaries_portable, _summaries_postgres, day_bounds

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    check = make_check()
    results(check, NOON, [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7], failed={2, 7})
    CheckResult.objects.create(check_ref=check, at=NOON, ok=False, latency_ms=None)
    start, end = day_bounds(DAY)

    assert _summaries_postgres(start, end, None) == _summaries_portable(start, end, None)
    assert _summaries_postgres(start, end, [check.pk]) == _summaries_portable(start, end, [check.pk])


def test_beat_runs_the_refresh_task_which_the_worker_registers():
    from django.conf import settings
    from django.utils import timezone

    from checks.rollup_tasks import rollups_refresh as task
    from checkstack.celery import app

    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "checkstack.rollups_refresh")
    assert entry["schedule"] == 300.0
    # Autodiscovery finds only tasks.py modules; the worker imports these at start-up.
    assert "checks.rollup_tasks" in app.conf.imports
    assert task.name == "checkstack.rollups_refresh"
    check = make_check()
    CheckResult.objects.create(check_ref=check, at=timezone.now(), ok=True, latency_ms=12)

    task()  # the body, in this process and transaction

    assert CheckDailyRollup.objects.get(check_ref=check).latency_max_ms == 12
