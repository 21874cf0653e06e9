"""Probes: one run of a check against its target, bounded by the check's timeout.

`probe_run(check)` returns a ProbeOutcome and never raises for what the target does (refused, down, slow,
wrong answer): that is the check failing. The caller runs it inside a masking scope, so a secret a header
resolved is masked in the error it returns and in any log line written meanwhile.
"""

import time
from dataclasses import dataclass
from datetime import datetime

from ..models import CheckKind


@dataclass(frozen=True)
class ProbeOutcome:
    ok: bool
    latency_ms: int | None = None  # None when nothing was timed (a heartbeat, a refused target)
    error: str = ""
    tls_days_left: int | None = None  # an https answer's certificate: whole days until it expires
    value: float | None = None  # the number a JSON assertion yielded

    @classmethod
    def failed(cls, error: str, latency_ms: int | None = None, **found) -> "ProbeOutcome":
        return cls(ok=False, latency_ms=latency_ms, error=error, **found)


def elapsed_ms(started: float) -> int:
    """Milliseconds since the monotonic `started`."""
    return max(0, round((time.monotonic() - started) * 1000))


def describe_error(exc: BaseException) -> str:
    """An exception as a short error text: its type, and its message when it has one."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def probe_run(check, *, now: datetime | None = None) -> ProbeOutcome:
    """Run `check` once; a network probe ends within the check's timeout (name resolution aside: http.py)."""
    from . import dns, heartbeat, http, icmp, tcp

    if check.kind == CheckKind.HEARTBEAT:
        return heartbeat.probe(check, now=now)
    network_probe = {CheckKind.HTTP: http.probe, CheckKind.TCP: tcp.probe, CheckKind.DNS: dns.probe,
                     CheckKind.PING: icmp.probe}.get(check.kind)
    if network_probe is None:
        return ProbeOutcome.failed(f"unknown check kind {check.kind!r}")
    return network_probe(check, deadline=time.monotonic() + check.timeout_seconds)
