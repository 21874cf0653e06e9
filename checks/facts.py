"""`health.system.*` facts read from check results, for automation expressions (docs/expressions.md).

Over a window of the last `minutes` (default 60, at most 1440) of the system's check results:
- `avg_latency_ms`, `p95_latency_ms`: of the passing results (a failure's latency is mostly its timeout);
- `success_rate`: passing results / all results, 0.0 to 1.0;
- `latency_stats(minutes=60)`: all three for another window, with `runs` and `failures`.
`last_run_at` is the newest run of any of the system's checks, and `latency_ms` (scope.py) becomes the
newest result's latency for a system its checks manage. Each is None while there is no result to read.
"""

import math
import uuid
from datetime import timedelta
from functools import partial

from django.db.models import Avg, Count, Max, Q
from django.utils import timezone

from automation.definitions import register_health_fact
from catalog.models import HealthSource

from .models import Check, CheckResult

DEFAULT_WINDOW_MINUTES = 60
MAX_WINDOW_MINUTES = 1440


def _system_uuid(system_id) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(system_id))
    except ValueError:
        return None  # a context key that is not a system id


def percentile(values: list[int], fraction: float) -> int | None:
    """Nearest-rank percentile of sorted `values`."""
    if not values:
        return None
    return values[max(0, math.ceil(fraction * len(values)) - 1)]


def latency_stats(system_id, minutes=DEFAULT_WINDOW_MINUTES) -> dict:
    """Runs, failures, success rate and passing latency (average, p95) of the last `minutes` of results."""
    minutes = float(minutes)
    if not 0 < minutes <= MAX_WINDOW_MINUTES:
        raise ValueError(f"minutes must be above 0 and at most {MAX_WINDOW_MINUTES}")
    empty = {"runs": 0, "failures": 0, "success_rate": None, "avg_latency_ms": None, "p95_latency_ms": None}
    pk = _system_uuid(system_id)
    if pk is None:
        return empty
    window = CheckResult.objects.filter(check_ref__system_id=pk,  # index checkresult_check_at per check
                                        at__gte=timezone.now() - timedelta(minutes=minutes))
    totals = window.aggregate(runs=Count("id"), failures=Count("id", filter=Q(ok=False)),
                              avg=Avg("latency_ms", filter=Q(ok=True)))
    if not totals["runs"]:
        return empty
    latencies = list(window.filter(ok=True, latency_ms__isnull=False).order_by("latency_ms")
                     .values_list("latency_ms", flat=True))
    return {
        "runs": totals["runs"],
        "failures": totals["failures"],
        "success_rate": round((totals["runs"] - totals["failures"]) / totals["runs"], 4),
        "avg_latency_ms": None if totals["avg"] is None else round(totals["avg"]),
        "p95_latency_ms": percentile(latencies, 0.95),
    }


def last_run_at(system_id):
    pk = _system_uuid(system_id)
    if pk is None:
        return None
    return Check.objects.filter(system_id=pk).aggregate(m=Max("last_run_at"))["m"]


def measured_latency_ms(system_id) -> int | None:
    """The newest result's latency when the system's checks manage its health; None otherwise."""
    pk = _system_uuid(system_id)
    if pk is None:
        return None
    return (CheckResult.objects.filter(check_ref__system_id=pk, check_ref__system__health_source=HealthSource.CHECKS,
                                       latency_ms__isnull=False)
            .order_by("-at").values_list("latency_ms", flat=True).first())


def register() -> None:
    for name in ("avg_latency_ms", "p95_latency_ms", "success_rate"):
        register_health_fact(name, lambda system_id, key=name: latency_stats(system_id)[key])
    register_health_fact("latency_stats", lambda system_id: partial(latency_stats, system_id))
    register_health_fact("last_run_at", last_run_at)
    register_health_fact("measured_latency_ms", measured_latency_ms)
