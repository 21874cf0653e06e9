"""An HTTP check: the response's status is expected (empty list: any 2xx) and its body holds the keyword.

Only addresses checks/targets.py accepted are connected to (egress.open_connection). Redirects are not
followed: a 3xx passes only when listed in the expected codes, so a target cannot bounce the probe to an
address the guard never saw. Connect, send and read share one deadline (a watchdog cuts the socket, see
foundation/deadline.py); resolving the host name is bounded by the system resolver's own timeout.
"""

import math
import ssl
import time
from http.client import HTTPException

from foundation.deadline import cut_off_at, seconds_left
from foundation.egress import Target, open_connection, url_parts

from ..assertions import assertion_check, response_scope
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


def tls_days_left(sock, now: float) -> int | None:
    """Whole days until the peer's certificate expires (negative once expired); None without TLS."""
    if not isinstance(sock, ssl.SSLSocket):
        return None
    certificate = sock.getpeercert()
    if not certificate or "notAfter" not in certificate:
        return None
    return math.floor((ssl.cert_time_to_seconds(certificate["notAfter"]) - now) / 86_400)


def _exchange(check, target: Target, headers: dict, deadline: float):
    """Send the request and read the status, headers and (for a keyword or an assertion) the body's first MiB,
    all by `deadline`; with the certificate's days left on https."""
    connection = open_connection(target, timeout=seconds_left(deadline), deadline=deadline)
    try:
        with cut_off_at(deadline, lambda: connection.sock) as cutoff:
            try:
                connection.request(check.http_method, target.path, headers=headers)
                # Now, while the connection holds its socket: a response that closes the connection drops it.
                days_left = tls_days_left(connection.sock, time.time())
                response = connection.getresponse()
                whole = check.body_keyword or check.json_assertion
                body = response.read(MAX_BODY_READ if whole else DRAIN_READ)
            except (OSError, HTTPException):
                if cutoff.passed:
                    raise _TimedOut from None
                raise
            if cutoff.cut:
                raise _TimedOut
            return response.status, response.getheaders(), body, days_left
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
        status, response_headers, body, days_left = _exchange(check, target, headers, deadline)
    except _TimedOut:
        return ProbeOutcome.failed(f"timed out after {check.timeout_seconds} s", latency_ms=elapsed_ms(started))
    except (OSError, ValueError, HTTPException) as exc:  # refused, reset, TLS, protocol, bad header value
        return ProbeOutcome.failed(describe_error(exc), latency_ms=elapsed_ms(started))
    latency = elapsed_ms(started)
    found = {"latency_ms": latency, "tls_days_left": days_left}
    if not status_expected(status, check.expected_status_codes):
        redirect = " (redirects are not followed)" if 300 <= status < 400 else ""
        return ProbeOutcome.failed(f"HTTP {status}{redirect}", **found)
    if check.body_keyword and check.body_keyword.encode() not in body:
        return ProbeOutcome.failed(f"HTTP {status}: the keyword is not in the body (its first MiB read)", **found)
    if check.tls_expiry_days is not None and days_left is not None and days_left < check.tls_expiry_days:
        return ProbeOutcome.failed(f"the TLS certificate expires in {days_left} days (fewer than "
                                   f"{check.tls_expiry_days})", **found)
    if check.json_assertion:
        asserted = assertion_check(check.json_assertion, response_scope(status, response_headers, body))
        if not asserted.ok:
            return ProbeOutcome.failed(asserted.error, **found)
        return ProbeOutcome(ok=True, value=asserted.value, **found)
    return ProbeOutcome(ok=True, **found)
