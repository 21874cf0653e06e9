"""Uptime and response times of systems, from their checks: what the status page's bar and chart show.

A system's figures pool all of its checks: a day's uptime is the share of that day's check runs that passed.
Past days come from the daily roll-ups; today and the last 24 hours from the quarter-hour buckets written with
each result (checks/buckets.py), never from the raw results. A day without runs has no uptime at all
("no data"), never 100 %. Two queries for any number of systems.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from django.db.models import Case, Exists, OuterRef, Q, QuerySet, Sum, Value, When

from .buckets import BUCKET
from .history import HISTORY_DAYS, PastDays, past_days, past_summary
from .models import Check, CheckBucketRollup, CheckDailyRollup
from .rollups import day_bounds, percentile

SERIES_SPAN = timedelta(hours=24)


class Tally(NamedTuple):
    # A named tuple, not a dataclass: the status page makes one per system and day (45,000 for 500 systems).
    runs: int = 0
    failures: int = 0

    def __add__(self, other: Tally) -> Tally:  # type: ignore[override]
        return Tally(self.runs + other.runs, self.failures + other.failures)

    @property
    def percent(self) -> float | None:
        """Share of runs that passed, in percent; None without runs."""
        return None if not self.runs else 100 * (self.runs - self.failures) / self.runs


class DayUptime(NamedTuple):
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
    dates: list[date]  # HISTORY_DAYS of them, oldest first, the last one today
    tallies: list  # (runs, failures) of each date (today's so far), as pairs (lists or tuples)
    series: list[LatencyBucket]  # every BUCKET of the last 24 hours, oldest first (when asked for)
    last_24h: Tally = field(default_factory=Tally)
    last_30d: Tally = field(default_factory=Tally)
    last_90d: Tally = field(default_factory=Tally)

    @property
    def days(self) -> list[DayUptime]:
        return [DayUptime(day, Tally(*tally)) for day, tally in zip(self.dates, self.tallies, strict=True)]


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
            .order_by().values_list("check_ref__system_id", "day", "runs", "failures"))
    names = {}  # one string per system id, not one per row
    return {(names.get(system_id) or names.setdefault(system_id, str(system_id)), day): Tally(runs, failures)
            for system_id, day, runs, failures in rows}


def _bucket_tallies(system_ids, start: datetime, midnight: datetime) -> dict[tuple[str, bool], Tally]:
    """Runs and failures of the last 24 hours, by system and whether since midnight (index bucket_start)."""
    rows = (CheckBucketRollup.objects.filter(start__gte=start, check_ref__system_id__in=system_ids)
            .annotate(today=Case(When(start__gte=midnight, then=Value(True)), default=Value(False)))
            .values("check_ref__system_id", "today").annotate(runs=Sum("runs"), failures=Sum("failures"))
            .order_by().values_list("check_ref__system_id", "today", "runs", "failures"))
    return {(str(system_id), today): Tally(runs, failures) for system_id, today, runs, failures in rows}


def _check_bucket_tallies(checks: dict[str, str], start: datetime, midnight: datetime) -> dict[tuple[str, bool], Tally]:
    """As _bucket_tallies for the systems of `checks` (check id -> system id), from every check's buckets.

    Summed by check, without joining the checks: on a fleet's page the join of every bucket of the last 24 hours
    (97 per check) to its check cost the database more than the sums themselves. One row per check.
    """
    since = Q(start__gte=midnight)
    rows = (CheckBucketRollup.objects.filter(start__gte=start).values("check_ref_id")
            .annotate(all_runs=Sum("runs"), all_failures=Sum("failures"), runs_today=Sum("runs", filter=since),
                      failures_today=Sum("failures", filter=since))
            .order_by().values_list("check_ref_id", "all_runs", "all_failures", "runs_today", "failures_today"))
    sums = {}
    for check_id, runs, failures, runs_today, failures_today in rows:
        system_id = checks.get(str(check_id))
        if system_id is not None:
            total = sums.setdefault(system_id, [0, 0, 0, 0])
            total[0] += runs_today or 0  # None: no bucket since midnight
            total[1] += failures_today or 0
            total[2] += runs - (runs_today or 0)
            total[3] += failures - (failures_today or 0)
    out = {}
    for system_id, (runs_today, failures_today, runs_before, failures_before) in sums.items():
        out[(system_id, True)] = Tally(runs_today, failures_today)
        out[(system_id, False)] = Tally(runs_before, failures_before)
    return out


def _bucket_series(system_ids, start: datetime) -> dict[tuple[str, datetime], tuple]:
    """Each system's buckets since `start`, its checks pooled: (tally, average, 95th percentile) by start."""
    runs, failures, latencies = defaultdict(int), defaultdict(int), defaultdict(list)
    rows = (CheckBucketRollup.objects.filter(start__gte=start, check_ref__system_id__in=system_ids)
            .values_list("check_ref__system_id", "start", "runs", "failures", "latencies"))
    for system_id, bucket, count, failed, values in rows:
        key = (str(system_id), bucket)
        runs[key] += count
        failures[key] += failed
        latencies[key].extend(values)
    out = {}
    for key, count in runs.items():
        values = sorted(latencies[key])
        out[key] = (Tally(count, failures[key]), sum(values) / len(values) if values else None,
                    percentile(values, 0.95))
    return out


def with_has_checks(systems: QuerySet) -> QuerySet:
    """Systems annotated `has_checks` (in their own query: the status page lists all systems anyway)."""
    return systems.annotate(has_checks=Exists(Check.objects.filter(system=OuterRef("pk"))))


def _past_from_rollups(wanted, dates: list[date]) -> dict[str, PastDays]:
    past = _rollup_tallies(wanted, dates[0], dates[-1] + timedelta(days=1))
    return {system_id: past_summary(tuple(tuple(past.get((system_id, day), (0, 0))) for day in dates))
            for system_id in wanted}


def uptime_for_systems(*, system_ids, now: datetime, series: bool = False, fleet: bool = False,
                       checks: dict[str, str] | None = None) -> dict[str, SystemUptime]:
    """Each system's 90 days and uptime over 24 h, 30 and 90 days by id, from roll-ups only (two queries).

    series: also the 24 h of quarter hours with their response times (the chart; more rows per system).
    fleet: past days from each system's one-row history (checks/history.py) instead of the daily roll-ups, for
    pages of many systems (as fresh as the roll-ups: both are written by the same refresh), read for every
    system rather than by sending hundreds of ids, the ones asked for kept.
    checks: every check of the systems asked for (check id -> system id); the 24 hours are then read by check
    for every check, also without an id list (a fleet's page reads its checks with its systems).
    """
    wanted = {str(i) for i in system_ids}
    if not wanted:
        return {}
    today = now.astimezone(UTC).date()
    dates = [today - timedelta(days=HISTORY_DAYS - 1 - n) for n in range(HISTORY_DAYS)]
    past = past_days(None, dates=dates[:-1]) if fleet else _past_from_rollups(wanted, dates[:-1])
    empty = past_summary(((0, 0),) * (HISTORY_DAYS - 1))
    start, midnight = series_start(now), day_bounds(today)[0]
    if series:
        buckets = _bucket_series(wanted, start)
        count = int((now - start) / BUCKET) + 1
        points = {system_id: [LatencyBucket(start + n * BUCKET, *buckets.get((system_id, start + n * BUCKET),
                                                                             (Tally(), None, None)))
                              for n in range(count)] for system_id in wanted}
        # Today starts on the grid (midnight is a multiple of 15 minutes), so its buckets add up exactly.
        tallies = {(system_id, since_midnight): sum((b.tally for b in points[system_id]
                                                     if (b.start >= midnight) == since_midnight), Tally())
                   for system_id in wanted for since_midnight in (True, False)}
    else:
        points = {}
        tallies = (_bucket_tallies(wanted, start, midnight) if checks is None
                   else _check_bucket_tallies(checks, start, midnight))
    result, none = {}, Tally()
    for system_id in wanted:
        days = past.get(system_id, empty)
        today_tally = tallies.get((system_id, True), none)
        runs, failures = today_tally
        earlier = tallies.get((system_id, False), none)
        result[system_id] = SystemUptime(
            dates=dates, tallies=[*days.tallies, today_tally], series=points.get(system_id, []),
            last_24h=Tally(runs + earlier[0], failures + earlier[1]),
            last_30d=Tally(days.recent[0] + runs, days.recent[1] + failures),
            last_90d=Tally(days.total[0] + runs, days.total[1] + failures))
    return result
