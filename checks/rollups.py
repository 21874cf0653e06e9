"""Daily roll-ups of check results: runs, failures and latency percentiles per check and UTC day.

The status page's 90-day history reads these rows, so they must be written before the result retention
deletes the results they summarise. `rollups_refresh` (beat, every few minutes) recomputes today and
yesterday (late results land there), every day since the newest roll-up (a beat that was down for days
finished none of them), and any older day that still has results but no roll-up. Each write is an upsert of
the whole day from the results, so running it twice, or concurrently, gives the same rows; days before
yesterday only ever grow, since the result purge may have begun on them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection
from django.db.models import Exists, Max, Min, OuterRef
from django.utils import timezone

from .history import history_refresh
from .models import Check, CheckDailyRollup, CheckResult

# Whatever CHECKSTACK_RETAIN_CHECK_ROLLUPS_DAYS says: the status page shows 90 days of history.
ROLLUPS_FLOOR = timedelta(days=90)


@dataclass(frozen=True)
class DaySummary:
    runs: int
    failures: int
    p50: int | None
    p95: int | None
    max: int | None


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC day as a half-open range [start, end)."""
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def percentile(sorted_values: list[int], fraction: float) -> float | None:
    """PostgreSQL's percentile_cont: linear interpolation between the two nearest ranks."""
    if not sorted_values:
        return None
    position = fraction * (len(sorted_values) - 1)
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def _ms(value) -> int | None:
    return None if value is None else int(round(value))


def _summaries_postgres(start: datetime, end: datetime, check_ids) -> dict[tuple, DaySummary]:
    # One pass over the index checkresult_at; percentile_cont ignores NULL latencies as the fallback does.
    where = "r.at >= %s AND r.at < %s"
    params: list = [start, end]
    if check_ids is not None:
        where += " AND r.check_id = ANY(%s::uuid[])"
        params.append([str(i) for i in check_ids])
    sql = f"""
        SELECT r.check_id, (r.at AT TIME ZONE 'UTC')::date AS day, count(*),
               count(*) FILTER (WHERE NOT r.ok),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY r.latency_ms),
               percentile_cont(0.95) WITHIN GROUP (ORDER BY r.latency_ms),
               max(r.latency_ms)
        FROM {CheckResult._meta.db_table} r WHERE {where} GROUP BY 1, 2"""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {(str(check_id), day): DaySummary(runs, failures, _ms(p50), _ms(p95), _ms(top))
                for check_id, day, runs, failures, p50, p95, top in cursor.fetchall()}


def _summaries_portable(start: datetime, end: datetime, check_ids) -> dict[tuple, DaySummary]:
    results = CheckResult.objects.filter(at__gte=start, at__lt=end)
    if check_ids is not None:
        results = results.filter(check_ref_id__in=list(check_ids))
    runs, failures, latencies = defaultdict(int), defaultdict(int), defaultdict(list)
    for check_id, at, ok, latency in results.values_list("check_ref_id", "at", "ok", "latency_ms").iterator():
        key = (str(check_id), at.astimezone(UTC).date())
        runs[key] += 1
        failures[key] += not ok
        if latency is not None:
            latencies[key].append(latency)
    summaries = {}
    for key, count in runs.items():
        values = sorted(latencies[key])
        summaries[key] = DaySummary(count, failures[key], _ms(percentile(values, 0.5)),
                                    _ms(percentile(values, 0.95)), max(values) if values else None)
    return summaries


def day_summaries(*, days: list[date], check_ids=None) -> dict[tuple[str, date], DaySummary]:
    """Each check's summary for each of these UTC days that has results, by (check id, day)."""
    if not days:
        return {}
    start, end = day_bounds(min(days))[0], day_bounds(max(days))[1]
    compute = _summaries_postgres if connection.vendor == "postgresql" else _summaries_portable
    wanted = set(days)
    return {key: s for key, s in compute(start, end, check_ids).items() if key[1] in wanted}


def rollups_write(*, days: list[date], check_ids=None, grow_only: bool = False) -> int:
    """Upsert the roll-ups of these days (of these checks, or all) from their results; idempotent.

    grow_only: leave a roll-up alone unless its day now has more runs than it counted. For days whose results
    the retention may have begun to purge: a partly purged day must never overwrite its complete summary.
    """
    summaries = day_summaries(days=days, check_ids=check_ids)
    if grow_only and summaries:
        counted = {(str(c), d): runs for c, d, runs in CheckDailyRollup.objects.filter(day__in=days)
                   .values_list("check_ref_id", "day", "runs")}
        summaries = {key: s for key, s in summaries.items() if s.runs > counted.get(key, 0)}
    rows = [CheckDailyRollup(check_ref_id=check_id, day=day, runs=s.runs, failures=s.failures,
                             latency_p50_ms=s.p50, latency_p95_ms=s.p95, latency_max_ms=s.max)
            for (check_id, day), s in summaries.items()]
    # A check deleted since its results were read would fail the foreign key: write only those still there.
    existing = {str(pk) for pk in Check.objects.filter(pk__in={r.check_ref_id for r in rows})
                .values_list("pk", flat=True)}
    rows = [r for r in rows if r.check_ref_id in existing]
    CheckDailyRollup.objects.bulk_create(
        rows, batch_size=500, update_conflicts=True, unique_fields=["check_ref", "day"],
        update_fields=["runs", "failures", "latency_p50_ms", "latency_p95_ms", "latency_max_ms"])
    return len(rows)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _checks_missing_a_rollup(day: date) -> list:
    """Checks with results on this day and no roll-up for it (one index probe per check)."""
    start, end = day_bounds(day)
    # index checkresult_check_at
    has_results = CheckResult.objects.filter(check_ref=OuterRef("pk"), at__gte=start, at__lt=end)
    has_rollup = CheckDailyRollup.objects.filter(check_ref=OuterRef("pk"), day=day)  # rollup_one_per_check_day
    return list(Check.objects.filter(Exists(has_results)).exclude(Exists(has_rollup)).values_list("pk", flat=True))


@dataclass
class RefreshResult:
    days: list[date]  # yesterday and today, rewritten for every check
    caught_up: list[date]  # after beat missed a whole day: the days since the newest roll-up, grown if short
    backfilled: dict[date, int]  # older days: checks whose missing roll-up was written


def rollups_refresh(*, now: datetime | None = None) -> RefreshResult:
    """Bring the roll-ups up to date: yesterday and today always, any older day left unfinished or missing."""
    today = (now or timezone.now()).astimezone(UTC).date()
    yesterday = today - timedelta(days=1)
    # Read before writing: ticking normally, the newest roll-up is today's or yesterday's. Older, beat missed
    # at least a whole day, and that roll-up was written while its day was still running.
    newest = CheckDailyRollup.objects.aggregate(day=Max("day"))["day"]
    # The result retention keeps at least two days, so these two are always whole: rewrite them.
    rollups_write(days=[yesterday, today])
    caught_up = _days(newest, yesterday - timedelta(days=1)) if newest and newest < yesterday else []
    rollups_write(days=caught_up, grow_only=True)
    backfilled = {}
    oldest = CheckResult.objects.aggregate(at=Min("at"))["at"]  # index checkresult_at
    if oldest is not None:
        for day in _days(oldest.astimezone(UTC).date(), yesterday - timedelta(days=1)):
            if missing := _checks_missing_a_rollup(day):
                backfilled[day] = rollups_write(days=[day], check_ids=missing, grow_only=True)
    # The status page reads each system's 90 days from one row: rewrite them from the roll-ups just written.
    history_refresh(now=now or timezone.now())
    return RefreshResult(days=[yesterday, today], caught_up=caught_up, backfilled=backfilled)


def purge_rollups(*, cutoff: datetime, limit: int) -> int:
    """Roll-ups of days that ended before the cutoff."""
    ids = list(CheckDailyRollup.objects.filter(day__lt=cutoff.astimezone(UTC).date())
               .select_for_update(skip_locked=True).order_by("day").values_list("pk", flat=True)[:limit])
    CheckDailyRollup.objects.filter(pk__in=ids).delete()
    return len(ids)
