"""The rule that turns a system's check states into its health: pure, one place for every caller.

Only enabled checks that have run at least once count; with none, there is nothing to say (None).
- unhealthy: some check failed `failure_threshold` times in a row or more;
- degraded: otherwise, some check failed its last run (fewer times in a row than the threshold), or some
  passing check's last latency is above `degraded_latency_ms` (when the system sets one);
- healthy: every check passed its last run within the latency limit.
The message names the first check (by name) behind the status; the latency is the highest last latency
of the checks that ran (a failure's may be its timeout; None when no run was timed, e.g. heartbeats).
"""

from dataclasses import dataclass

from catalog.models import HealthStatus


@dataclass(frozen=True)
class CheckState:
    name: str
    last_ok: bool | None  # None: never ran
    consecutive_failures: int
    latency_ms: int | None
    error: str = ""


@dataclass(frozen=True)
class HealthRule:
    failure_threshold: int
    degraded_latency_ms: int | None = None


@dataclass(frozen=True)
class DerivedHealth:
    status: str
    message: str
    latency_ms: int | None


def _too_slow(state: CheckState, rule: HealthRule) -> bool:
    return (state.last_ok and rule.degraded_latency_ms is not None and state.latency_ms is not None
            and state.latency_ms > rule.degraded_latency_ms)


def health_derive(states, rule: HealthRule) -> DerivedHealth | None:
    """The health `states` amount to under `rule`; None when no check has run."""
    ran = sorted((s for s in states if s.last_ok is not None), key=lambda s: s.name)
    if not ran:
        return None
    latencies = [s.latency_ms for s in ran if s.latency_ms is not None]
    latency = max(latencies) if latencies else None
    down = [s for s in ran if s.consecutive_failures >= rule.failure_threshold]
    if down:
        first = down[0]
        return DerivedHealth(HealthStatus.UNHEALTHY, f"{first.name}: {first.error} "
                             f"({first.consecutive_failures} failures in a row)", latency)
    failing = [s for s in ran if not s.last_ok]
    if failing:
        first = failing[0]
        return DerivedHealth(HealthStatus.DEGRADED, f"{first.name}: {first.error} "
                             f"({first.consecutive_failures} of {rule.failure_threshold} failures)", latency)
    slow = [s for s in ran if _too_slow(s, rule)]
    if slow:
        first = slow[0]
        return DerivedHealth(HealthStatus.DEGRADED, f"{first.name}: {first.latency_ms} ms, above "
                             f"{rule.degraded_latency_ms} ms", latency)
    return DerivedHealth(HealthStatus.HEALTHY, f"{len(ran)} of {len(ran)} checks pass", latency)
