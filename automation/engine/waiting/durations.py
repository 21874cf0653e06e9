"""Durations and deadlines of waiting steps."""

from datetime import timedelta

from django.utils import timezone

from ...expressions.evaluate import evaluate


class DurationError(ValueError):
    """A duration that is not a positive number of seconds up to 30 days."""

UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600}
MAX_SECONDS = 30 * 24 * 3600


def duration_seconds(duration: dict, scope: dict) -> int:
    """Seconds of a `{seconds|minutes|hours}` or `{template}` duration."""
    if "template" in duration:
        value = evaluate(duration["template"], scope)
        try:
            seconds = int(float(value))
        except (TypeError, ValueError):
            raise DurationError(f"duration template gave {value!r}, not a number of seconds") from None
    else:
        unit = next(u for u in UNIT_SECONDS if u in duration)
        seconds = int(duration[unit]) * UNIT_SECONDS[unit]
    if not 0 < seconds <= MAX_SECONDS:
        raise DurationError(f"duration of {seconds}s is outside 1s..30 days")
    return seconds


def deadline_after(duration: dict | None, scope: dict):
    if not duration:
        return None
    return timezone.now() + timedelta(seconds=duration_seconds(duration, scope))
