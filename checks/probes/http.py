"""An HTTP check: the response's status is expected (empty list: any 2xx) and its body holds the keyword.

Only addresses checks/targets.py accepted are connected to (egress.open_connection). Redirects are not
followed: a 3xx passes only when listed in the expected codes, so a target cannot bounce the probe to an
address the guard never saw. Connect, send and read share one deadline (a watchdog cuts the socket, see
foundation/deadline.py); resolving the host name is bounded by the system resolver's own timeout.
"""

import time
from http.client import HTTPException

from foundation.deadline import cut_off_at, seconds_left
from foundation.egress import Target, open_connection, url_parts

from ..targets import TargetRefused, resolve_checked
from ..validation import FRAMING_HEADERS
from . import ProbeOutcome, describe_error, elapsed_ms
from .secret_headers import HeaderError, headers_render

MAX_BODY_READ = 1024 * 1024  # the keyword is looked for in this much of the body; the rest is never read
DRAIN_READ = 64 * 1024  # read without a keyword, so a small answer ends cleanly; never stored
USER_AGENT = "Checkstack-Check/1"


class _TimedOut(Exception):
    pass


def status_expected(status: int, expected_codes) -> bool:
    return status in expected_codes if expected_codes else 200 <= status < 300


def _target(url: str) -> Target:
    scheme, host, port, path = url_parts(url)
    return Target(scheme, host, port, path, resolve_checked(host, port))


def _exchange(check, target: Target, headers: dict, deadline: float) -> tuple[int, bytes]:
    """Send the request and read the status and (for a keyword) the body's first MiB, all by `deadline`."""
    connection = open_connection(target, timeout=seconds_left(deadline), deadline=deadline)
    try:
        with cut_off_at(deadline, lambda: connection.sock) as cutoff:
            try:
                connection.request(check.http_method, target.path, headers=headers)
                response = connection.getresponse()
                body = response.read(MAX_BODY_READ if check.body_keyword else DRAIN_READ)
            except (OSError, HTTPException):
                if cutoff.passed:
                    raise _TimedOut from None
                raise
            if cutoff.cut:
                raise _TimedOut
            return response.status, body
    finally:
        connection.close()


def probe(check, *, deadline: float) -> ProbeOutcome:
    try:
        # A framing header saved before validation refused them is dropped, never sent.
        given = {k: v for k, v in headers_render(check.headers or {}).items() if k.lower() not in FRAMING_HEADERS}
        headers = {"User-Agent": USER_AGENT, **given}
        target = _target(check.url)
    except (HeaderError, TargetRefused) as exc:
        return ProbeOutcome.failed(str(exc))
    except OSError as exc:
        return ProbeOutcome.failed(f"cannot resolve the URL's host: {describe_error(exc)}")
    started = time.monotonic()
    try:
        status, body = _exchange(check, target, headers, deadline)
    except _TimedOut:
        return ProbeOutcome.failed(f"timed out after {check.timeout_seconds} s", latency_ms=elapsed_ms(started))
    except (OSError, ValueError, HTTPException) as exc:  # refused, reset, TLS, protocol, bad header value
        return ProbeOutcome.failed(describe_error(exc), latency_ms=elapsed_ms(started))
    latency = elapsed_ms(started)
    if not status_expected(status, check.expected_status_codes):
        redirect = " (redirects are not followed)" if 300 <= status < 400 else ""
        return ProbeOutcome.failed(f"HTTP {status}{redirect}", latency_ms=latency)
    if check.body_keyword and check.body_keyword.encode() not in body:
        return ProbeOutcome.failed(f"HTTP {status}: the keyword is not in the body (its first MiB read)",
                                   latency_ms=latency)
    return ProbeOutcome(ok=True, latency_ms=latency)
