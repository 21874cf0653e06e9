"""A heartbeat: the system pings its URL; no ping for a period plus grace means failing."""

from datetime import datetime, timedelta

from django.utils import timezone

from . import ProbeOutcome


def heartbeat_deadline(check) -> datetime:
    """When the heartbeat fails unless a ping arrives: the last ping (or creation) + period + grace."""
    since = check.last_ping_at or check.created_at
    return since + timedelta(seconds=check.interval_seconds + check.heartbeat_grace_seconds)


def probe(check, *, now: datetime | None = None) -> ProbeOutcome:
    now = now or timezone.now()
    deadline = heartbeat_deadline(check)
    if now <= deadline:
        return ProbeOutcome(ok=True)
    late = int((now - deadline).total_seconds())
    if check.last_ping_at is None:
        return ProbeOutcome.failed(f"no ping received yet ({late} s past period + grace)")
    return ProbeOutcome.failed(f"no ping since {check.last_ping_at:%Y-%m-%d %H:%M:%S} UTC "
                               f"({late} s past period + grace)")
