"""Uptime and response times of systems, from their checks: what the status page's bar and chart show.

A system's figures pool all of its checks: a day's uptime is the share of that day's check runs that passed.
Past days come from the daily roll-ups; today and the last 24 hours from the raw results. A day without runs
has no uptime at all ("no data"), never 100 %. Two queries for any number of systems.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet, Sum

from .models import Check, CheckDailyRollup, CheckResult
from .rollups import day_bounds, percentile

HISTORY_DAYS = 90
BUCKET = timedelta(minutes=15)
SERIES_SPAN = timedelta(hours=24)


@dataclass(frozen=True)
class Tally:
    runs: int = 0
    failures: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.runs + other.runs, self.failures + other.failures)

    @property
    def percent(self) -> float | None:
        """Share of runs that passed, in percent; None without runs."""
        return None if not self.runs else 100 * (self.runs - self.failures) / self.runs


@dataclass(frozen=True)
class DayUptime:
    day: date
    tally: Tally


@dataclass(frozen=True)
class LatencyBucket:
    start: datetime
    tally: Tally
    avg_ms: float | None
    p95_ms: float | None


@dataclass
class SystemUptime:
    days: list[DayUptime]  # HISTORY_DAYS of them, oldest first, the last one today (so far)
    series: list[LatencyBucket]  # every BUCKET of the last 24 hours, oldest first, empty ones included
    last_24h: Tally = field(default_factory=Tally)
    last_30d: Tally = field(default_factory=Tally)
    last_90d: Tally = field(default_factory=Tally)


def percent_text(percent: float | None) -> str:
    """Rounded down, so a day with one failure never reads 100 %."""
    if percent is None:
        return "no data"
    return f"{math.floor(percent * 100) / 100:.2f} %"


def series_start(now: datetime) -> datetime:
    """The first bucket's start: 24 hours before the current bucket's, on the UTC 15-minute grid."""
    epoch = now.astimezone(UTC).timestamp()
    step = BUCKET.total_seconds()
    return datetime.fromtimestamp(epoch - epoch % step, tz=UTC) - SERIES_SPAN


def _rollup_tallies(system_ids, first: date, today: date) -> dict[tuple[str, date], Tally]:
    rows = (CheckDailyRollup.objects.filter(check_ref__system_id__in=system_ids, day__gte=first, day__lt=today)
            .values("check_ref__system_id", "day").annotate(runs=Sum("runs"), failures=Sum("failures"))
            .order_by())
    return {(str(r["check_ref__system_id"]), r["day"]): Tally(r["runs"], r["failures"]) for r in rows}


def _bucket_rows_postgres(system_ids, start: datetime, end: datetime) -> list[tuple]:
    # One pass over the last day's results (index checkresult_at); buckets on the epoch's 15-minute grid.
    step = int(BUCKET.total_seconds())
    sql = f"""
        SELECT c.system_id, floor(extract(epoch FROM r.at) / {step})::bigint, count(*),
               count(*) FILTER (WHERE NOT r.ok), avg(r.latency_ms),
               percentile_cont(0.95) WITHIN GROUP (ORDER BY r.latency_ms)
        FROM {CheckResult._meta.db_table} r JOIN {Check._meta.db_table} c ON c.id = r.check_id
        WHERE r.at >= %s AND r.at < %s AND c.system_id = ANY(%s::uuid[]) GROUP BY 1, 2"""
    first = int(start.timestamp()) // step
    with connection.cursor() as cursor:
        cursor.execute(sql, [start, end, [str(i) for i in system_ids]])
        return [(str(system_id), bucket - first, Tally(runs, failures), None if avg is None else float(avg), p95)
                for system_id, bucket, runs, failures, avg, p95 in cursor.fetchall()]


def _bucket_rows_portable(system_ids, start: datetime, end: datetime) -> list[tuple]:
    step = BUCKET.total_seconds()
    runs, failures, latencies = defaultdict(int), defaultdict(int), defaultdict(list)
    rows = (CheckResult.objects.filter(at__gte=start, at__lt=end, check_ref__system_id__in=system_ids)
            .values_list("check_ref__system_id", "at", "ok", "latency_ms"))
    for system_id, at, ok, latency in rows.iterator():
        key = (str(system_id), int((at - start).total_seconds() // step))
        runs[key] += 1
        failures[key] += not ok
        if latency is not None:
            latencies[key].append(latency)
    out = []
    for key, count in runs.items():
        values = sorted(latencies[key])
        out.append((*key, Tally(count, failures[key]), sum(values) / len(values) if values else None,
                    percentile(values, 0.95)))
    return out


def with_has_checks(systems: QuerySet) -> QuerySet:
    """Systems annotated `has_checks` (in their own query: the status page lists all systems anyway)."""
    return systems.annotate(has_checks=Exists(Check.objects.filter(system=OuterRef("pk"))))


def uptime_for_systems(*, system_ids, now: datetime) -> dict[str, SystemUptime]:
    """Each system's 90 days, uptime over 24 h, 30 and 90 days, and 24 h series, by id (two queries)."""
    wanted = {str(i) for i in system_ids}
    if not wanted:
        return {}
    today = now.astimezone(UTC).date()
    first_day = today - timedelta(days=HISTORY_DAYS - 1)
    past = _rollup_tallies(wanted, first_day, today)
    start = series_start(now)
    count = int((now - start) / BUCKET) + 1
    compute = _bucket_rows_postgres if connection.vendor == "postgresql" else _bucket_rows_portable
    buckets = {(system_id, index): (tally, avg, p95)
               for system_id, index, tally, avg, p95 in compute(wanted, start, start + count * BUCKET)}
    midnight = day_bounds(today)[0]
    result = {}
    for system_id in wanted:
        series = [LatencyBucket(start + n * BUCKET, *buckets.get((system_id, n), (Tally(), None, None)))
                  for n in range(count)]
        # Today starts on the grid (midnight is a multiple of 15 minutes), so its buckets add up exactly.
        today_tally = sum((b.tally for b in series if b.start >= midnight), Tally())
        days = [DayUptime(first_day + timedelta(days=n), past.get((system_id, first_day + timedelta(days=n)),
                                                                 Tally()))
                for n in range(HISTORY_DAYS - 1)] + [DayUptime(today, today_tally)]
        result[system_id] = SystemUptime(
            days=days, series=series, last_24h=sum((b.tally for b in series), Tally()),
            last_30d=sum((d.tally for d in days[-30:]), Tally()), last_90d=sum((d.tally for d in days), Tally()))
    return result
