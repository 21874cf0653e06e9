"""Sending a channel's request: through the webhook action's egress guard, within a total deadline.

Written here rather than reusing the webhook action's sender: a channel needs the answer's `Retry-After`
and the start of its body (the test endpoint shows it), which that sender deliberately drops. The guard
(resolve once, refuse internal addresses, connect only to the checked ones) and the deadline watchdog are
the same code. Redirects are not followed. Email goes through Django's mail backend with its timeout.
"""

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http.client import HTTPException

from django.core.mail import EmailMessage, get_connection

from automation.masking import mask
from foundation.deadline import cut_off_at, seconds_left
from foundation.egress import open_connection, resolve_target

from .formats import Outbound, OutboundEmail

MAX_BODY_KEPT = 2000
MAX_BODY_READ = 64 * 1024


class DeadlinePassed(Exception):
    """The service did not answer completely before the deadline; the connection was cut."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: str  # the start of the response body, secrets masked
    retry_after: float | None = None  # seconds, from a Retry-After header

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header (delay-seconds or an HTTP date) as seconds from now; None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return None


def send(request: Outbound | OutboundEmail, *, deadline: float) -> Answer:
    """Deliver `request` by the monotonic `deadline`; raises TargetRefused, DeadlinePassed or a network error."""
    if isinstance(request, OutboundEmail):
        return _send_email(request, deadline)
    target = resolve_target(request.url)
    if seconds_left(deadline) <= 0:
        raise DeadlinePassed
    connection = open_connection(target, timeout=seconds_left(deadline), deadline=deadline)
    try:
        with cut_off_at(deadline, lambda: connection.sock) as cutoff:
            try:
                connection.request("POST", target.path, body=request.body,
                                   headers={**request.headers, "User-Agent": "Checkstack"})
                response = connection.getresponse()
                body = response.read(MAX_BODY_READ)
            except (OSError, HTTPException):
                if cutoff.passed:
                    raise DeadlinePassed from None
                raise
            if cutoff.cut:
                raise DeadlinePassed
    finally:
        connection.close()
    text = body[:MAX_BODY_KEPT].decode("utf-8", errors="replace")
    return Answer(status=response.status, body=mask(text),
                  retry_after=retry_after_seconds(response.getheader("Retry-After")))


def _send_email(request: OutboundEmail, deadline: float) -> Answer:
    connection = get_connection(timeout=max(seconds_left(deadline), 0.1))
    message = EmailMessage(subject=request.subject, body=request.body, to=request.to, headers=request.headers,
                           connection=connection)
    sent = message.send()
    return Answer(status=250 if sent else 554, body=f"accepted for {len(request.to)} address(es)")
