"""The one write of check results: the rows and their counts in the quarter-hour buckets, together.

`results_record` writes a batch (a prober's posted results, a worker's batch of runs) in a fixed number of
statements whatever its size; `result_record` is the batch of one.
"""

from dataclasses import dataclass
from datetime import datetime

from .buckets import buckets_add
from .models import Check, CheckResult
from .numeric_state import numeric_watches_follow, watches_of


@dataclass(frozen=True)
class ResultIn:
    """One result to record: of the check `check_id` (of `system_id`), run from `location_id` (None: centrally)."""

    check_id: object
    system_id: object
    at: datetime
    ok: bool
    latency_ms: int | None = None
    error: str = ""
    tls_days_left: int | None = None
    value: float | None = None
    location_id: object = None


def results_record(*, results: list[ResultIn]) -> list[CheckResult]:
    """Write the results, count them in their buckets and let their checks' numeric watches follow them; call it
    holding the row lock of every system named (the buckets' and watches' guard), in one transaction."""
    rows = CheckResult.objects.bulk_create([
        CheckResult(check_ref_id=r.check_id, at=r.at, ok=r.ok, latency_ms=r.latency_ms, error=r.error,
                    tls_days_left=r.tls_days_left, value=r.value, location_id=r.location_id) for r in results])
    buckets_add(rows=[(r.check_id, r.at, r.ok, r.latency_ms) for r in results])
    watches = watches_of((r.check_id, r.system_id) for r in results)
    for result, row in zip(results, rows, strict=True):
        if keys := watches[str(result.check_id)]:  # most checks have none: no further query
            numeric_watches_follow(check=Check(pk=result.check_id, system_id=result.system_id), result=row,
                                   watches=keys)
    return rows


def result_record(*, check: Check, at: datetime, ok: bool, latency_ms: int | None = None, error: str = "",
                  tls_days_left: int | None = None, value: float | None = None, location_id=None) -> CheckResult:
    """Write one result of `check` (run from `location_id`; None: centrally), count it in its bucket and let the
    numeric watches of its check follow it; call it holding the system's row lock."""
    return results_record(results=[ResultIn(check.pk, check.system_id, at, ok, latency_ms, error, tls_days_left,
                                            value, location_id)])[0]
