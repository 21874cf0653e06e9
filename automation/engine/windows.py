"""The `window` gate: N qualifying occurrences within M minutes (flapping), counted from rows."""

from datetime import timedelta

from django.utils import timezone

from ..expressions.evaluate import ExpressionError, evaluate
from ..models import WindowHit


def partition_key(firing, scope) -> str:
    """`partition_by` when it yields a value, else the event's context key."""
    expression = firing.trigger["window"].get("partition_by")
    if expression:
        try:
            value = evaluate(expression, scope)
        except ExpressionError:
            value = None
        if value not in (None, ""):
            return str(value)
    return firing.context_key or ""


def window_gate(firing, scope) -> str | None:
    """Count this occurrence; None when the trigger may fire now, else the reason it does not."""
    window = firing.trigger.get("window")
    if not window:
        return None
    now = timezone.now()
    start = now - timedelta(minutes=window["minutes"])
    key = partition_key(firing, scope)
    hits = WindowHit.objects.filter(automation=firing.automation, trigger_id=firing.trigger["id"], partition_key=key)
    hits.filter(at__lt=start).delete()  # prune what fell out of the window
    WindowHit.objects.create(automation=firing.automation, trigger_id=firing.trigger["id"], partition_key=key, at=now)
    return window_outcome(hits.filter(at__gte=start).count(), window)


def window_outcome(count: int, window: dict) -> str | None:
    """With `count` occurrences in the window (this one included): None if it fires, else why not.

    `every` fires at each occurrence from the count-th on, `once` only at the count-th.
    """
    needed = window["count"]
    fires = count == needed if window.get("refire", "every") == "once" else count >= needed
    return None if fires else f"window: {count} of {needed} in {window['minutes']} min"
