"""A TCP check: a connection to host:port opens within the timeout."""

import time

from foundation.egress import connect_any

from ..targets import TargetRefused, resolve_checked
from . import ProbeOutcome, describe_error, elapsed_ms


def probe(check, *, deadline: float) -> ProbeOutcome:
    try:
        addresses = resolve_checked(check.host, check.port)
    except TargetRefused as exc:
        return ProbeOutcome.failed(str(exc))
    except OSError as exc:
        return ProbeOutcome.failed(f"cannot resolve {check.host}: {describe_error(exc)}")
    started = time.monotonic()
    try:
        sock = connect_any(addresses, deadline - started, deadline=deadline)
    except OSError as exc:  # refused, unreachable, timed out
        return ProbeOutcome.failed(describe_error(exc), latency_ms=elapsed_ms(started))
    latency = elapsed_ms(started)
    sock.close()
    return ProbeOutcome(ok=True, latency_ms=latency)
