"""A check run from several locations as one state: the health rule per location, then the quorum. Pure.

Only online locations that have run the check count ("no data" otherwise: an offline prober is never a
failure). With `n` of them, `quorum` (None: a majority, n // 2 + 1; never more than n) must agree for the
check to fail: the check's run of failures is the quorum-th longest run among the locations, so it fails
its last run when at least `quorum` locations failed theirs, and reaches the system's failure threshold
when `quorum` locations each failed that many times in a row. One bad network path therefore pages no one.
The latency is the highest of the passing locations' (the health rule's "too slow" reads it).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class LocationState:
    location: str  # its name, for the message
    last_ok: bool | None
    consecutive_failures: int
    latency_ms: int | None
    error: str = ""


@dataclass(frozen=True)
class QuorumState:
    last_ok: bool | None  # None: no location has data
    consecutive_failures: int
    latency_ms: int | None
    error: str


def quorum_size(reporting: int, quorum: int | None) -> int:
    """Locations that must fail, of `reporting` ones with data."""
    if quorum is None:
        return reporting // 2 + 1
    return max(1, min(quorum, reporting))


def quorum_combine(states: list[LocationState], quorum: int | None) -> QuorumState:
    """The check's state from its online locations' states."""
    ran = sorted((s for s in states if s.last_ok is not None), key=lambda s: s.location)
    if not ran:
        return QuorumState(None, 0, None, "")
    needed = quorum_size(len(ran), quorum)
    runs = sorted((s.consecutive_failures for s in ran), reverse=True)
    failures = runs[needed - 1]
    passing = [s.latency_ms for s in ran if s.last_ok and s.latency_ms is not None]
    failing = [s for s in ran if not s.last_ok]
    error = ""
    if failures:
        error = "; ".join(f"{s.location}: {s.error}" for s in failing)
        error = f"failing from {len(failing)} of {len(ran)} locations ({error})"
    return QuorumState(failures == 0, failures, max(passing) if passing else None, error)
