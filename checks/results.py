"""The one write of a check result: the row and its count in the quarter-hour bucket, together."""

from datetime import datetime

from .buckets import bucket_add
from .models import Check, CheckResult


def result_record(*, check: Check, at: datetime, ok: bool, latency_ms: int | None = None,
                  error: str = "", location_id=None) -> CheckResult:
    """Write one result of `check` (run from `location_id`; None: centrally) and count it in its bucket; call it
    holding the system's row lock."""
    result = CheckResult.objects.create(check_ref=check, at=at, ok=ok, latency_ms=latency_ms, error=error,
                                        location_id=location_id)
    bucket_add(check_id=check.pk, at=at, ok=ok, latency_ms=latency_ms)
    return result
