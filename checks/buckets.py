"""Quarter-hour roll-ups of check results, kept up to date as results arrive: the status page's last 24 hours.

Every recorded result adds itself to its check's bucket in the transaction that writes it, under the system's
row lock that every result of the system's checks takes first (checks/execution.py), so two results of one
check never add to a bucket at the same time. The page then reads at most 97 rows per check instead of a day
of raw results (300,000 results took 5.8 s per request). Results written in bulk without a run (the demo's
synthetic history) are added with `buckets_rebuild`.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from .models import CheckBucketRollup, CheckResult

BUCKET = timedelta(minutes=15)
# Whatever the result retention says: the chart shows 24 hours, and a day's first bucket is read until the
# next day ends (today's tally on the page comes from the buckets since midnight).
BUCKETS_KEPT = timedelta(days=2)


def bucket_start(at: datetime) -> datetime:
    """The start of the quarter hour `at` falls in, on the UTC grid (midnight is on it)."""
    epoch = at.astimezone(UTC).timestamp()
    step = BUCKET.total_seconds()
    return datetime.fromtimestamp(epoch - epoch % step, tz=UTC)


def bucket_add(*, check_id, at: datetime, ok: bool, latency_ms: int | None) -> None:
    """Count one result in its bucket. The caller holds the check's system row lock (see the module)."""
    buckets_add(rows=[(check_id, at, ok, latency_ms)])


def buckets_add(*, rows: list[tuple]) -> None:
    """Count results, (check id, at, ok, latency ms) each, in their buckets: one read, one write.

    The caller holds the system row lock of every check named (see the module): the rows read here are then
    written by no one else until it commits, so the new counts are computed here, not in SQL.
    """
    runs, failures, latencies = defaultdict(int), defaultdict(int), defaultdict(list)
    for check_id, at, ok, latency_ms in rows:
        key = (str(check_id), bucket_start(at))
        runs[key] += 1
        failures[key] += not ok
        if latency_ms is not None:
            latencies[key].append(latency_ms)
    if not runs:
        return
    existing = {(str(row.check_ref_id), row.start): row for row in CheckBucketRollup.objects.filter(
        check_ref_id__in={check_id for check_id, _ in runs}, start__in={start for _, start in runs})
        .only("pk", "check_ref_id", "start", "runs", "failures", "latencies")}  # bucket_one_per_check_start
    fresh, changed = [], []
    for key, count in runs.items():
        row = existing.get(key)
        if row is None:
            fresh.append(CheckBucketRollup(check_ref_id=key[0], start=key[1], runs=count, failures=failures[key],
                                           latencies=sorted(latencies[key])))
            continue
        row.runs, row.failures = row.runs + count, row.failures + failures[key]
        merged = list(row.latencies)
        for latency_ms in latencies[key]:
            bisect.insort(merged, latency_ms)
        row.latencies = merged
        changed.append(row)
    # One upsert for new and counted buckets alike (the system locks keep anyone else from writing them).
    if fresh or changed:
        CheckBucketRollup.objects.bulk_create(fresh + changed, update_conflicts=True,
                                              unique_fields=["check_ref", "start"],
                                              update_fields=["runs", "failures", "latencies"])


def buckets_rebuild(*, check_ids, since: datetime, until: datetime) -> int:
    """Rewrite these checks' buckets in [since, until) from their results; for results written in bulk.

    Idempotent; call it where no run of these checks writes at the same time (the demo, before its checks run).
    """
    runs, failures, latencies = defaultdict(int), defaultdict(int), defaultdict(list)
    rows = (CheckResult.objects.filter(check_ref_id__in=list(check_ids), at__gte=bucket_start(since), at__lt=until)
            .values_list("check_ref_id", "at", "ok", "latency_ms"))
    for check_id, at, ok, latency in rows.iterator():
        key = (check_id, bucket_start(at))
        runs[key] += 1
        failures[key] += not ok
        if latency is not None:
            latencies[key].append(latency)
    CheckBucketRollup.objects.filter(check_ref_id__in=list(check_ids), start__gte=bucket_start(since),
                                     start__lt=until).delete()
    CheckBucketRollup.objects.bulk_create(
        [CheckBucketRollup(check_ref_id=check_id, start=start, runs=count, failures=failures[(check_id, start)],
                           latencies=sorted(latencies[(check_id, start)]))
         for (check_id, start), count in runs.items()], batch_size=500)
    return len(runs)


def purge_buckets(*, cutoff: datetime, limit: int) -> int:
    """Buckets that started before the cutoff, at most `limit` (index bucket_start)."""
    ids = list(CheckBucketRollup.objects.filter(start__lt=cutoff).select_for_update(skip_locked=True)
               .order_by("start").values_list("pk", flat=True)[:limit])
    CheckBucketRollup.objects.filter(pk__in=ids).delete()
    return len(ids)
