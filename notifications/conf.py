"""Notification settings and their defaults; settings.py may set any of them (from the environment)."""

from datetime import timedelta

from django.conf import settings


def _setting(name: str, default):
    return getattr(settings, name, default)


def public_url() -> str:
    """Base URL of links in emails (the worker sending them has no request to build them from)."""
    return _setting("CHECKSTACK_PUBLIC_URL", "http://localhost:8000").rstrip("/")


def subscribe_limit_per_address() -> int:
    """Subscribe requests per address per window: caps the confirmation emails anyone can cause."""
    return _setting("CHECKSTACK_SUBSCRIBE_LIMIT_PER_ADDRESS", 5)


def subscribe_limit_per_client() -> int:
    """Subscribe form posts per client IP per window, valid or not."""
    return _setting("CHECKSTACK_SUBSCRIBE_LIMIT_PER_CLIENT", 20)


def subscribe_limit_window() -> int:
    return _setting("CHECKSTACK_SUBSCRIBE_LIMIT_WINDOW_SECONDS", 3600)


def confirm_max_age() -> timedelta:
    """How long a confirmation link confirms; never-confirmed requests are purged after it."""
    return timedelta(days=_setting("CHECKSTACK_SUBSCRIBE_CONFIRM_DAYS", 7))


def send_max_attempts() -> int:
    return _setting("CHECKSTACK_NOTIFICATION_MAX_ATTEMPTS", 5)


def email_timeout() -> float:
    """Seconds a mail-server operation may block; must stay well under sending_timeout()."""
    return settings.EMAIL_TIMEOUT or _setting("CHECKSTACK_NOTIFICATION_EMAIL_TIMEOUT_SECONDS", 30)


def sending_timeout() -> timedelta:
    """After this long a claimed send is taken to have lost its worker (see sending.py)."""
    return timedelta(seconds=_setting("CHECKSTACK_NOTIFICATION_SENDING_TIMEOUT_SECONDS", 300))


def sweep_grace() -> timedelta:
    """Age before the sweeper re-wakes a pending send, so it does not race the wake-up sent at commit."""
    return timedelta(seconds=settings.CHECKSTACK_OUTBOX_GRACE_SECONDS)


def channel_max_attempts() -> int:
    """Attempts of one channel delivery before it is failed (and shown for an operator's replay)."""
    return _setting("CHECKSTACK_CHANNEL_MAX_ATTEMPTS", 6)


def channel_timeout() -> float:
    """Seconds one channel request may take in all (connect, send, answer): the deadline that cuts a hang."""
    return _setting("CHECKSTACK_CHANNEL_TIMEOUT_SECONDS", 10)


def channel_sending_timeout() -> timedelta:
    """After this long a claimed channel delivery is taken to have lost its worker; above channel_timeout()."""
    return timedelta(seconds=_setting("CHECKSTACK_CHANNEL_SENDING_TIMEOUT_SECONDS", 60))


def channel_retry_delay(attempts: int, retry_after: float | None) -> timedelta:
    """Back-off before the next attempt: doubling from the base, or what the service's Retry-After asked; capped."""
    base = _setting("CHECKSTACK_CHANNEL_RETRY_BASE_SECONDS", 10)
    cap = _setting("CHECKSTACK_CHANNEL_RETRY_MAX_SECONDS", 3600)
    delay = base * 2 ** max(attempts - 1, 0)
    if retry_after is not None:
        delay = retry_after
    return timedelta(seconds=min(delay, cap))
