"""The one write of a check result: the row and its count in the quarter-hour bucket, together."""

from datetime import datetime

from .buckets import bucket_add
from .models import Check, CheckResult
from .numeric_state import numeric_watches_follow


def result_record(*, check: Check, at: datetime, ok: bool, latency_ms: int | None = None, error: str = "",
                  tls_days_left: int | None = None, value: float | None = None, location_id=None) -> CheckResult:
    """Write one result of `check` (run from `location_id`; None: centrally), count it in its bucket and let the
    numeric watches of its check follow it; call it holding the system's row lock."""
    result = CheckResult.objects.create(check_ref=check, at=at, ok=ok, latency_ms=latency_ms, error=error,
                                        tls_days_left=tls_days_left, value=value, location_id=location_id)
    bucket_add(check_id=check.pk, at=at, ok=ok, latency_ms=latency_ms)
    numeric_watches_follow(check=check, result=result)
    return result
