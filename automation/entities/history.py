"""Reads of the transition log: how long an entity has been in its state, and how often it changed."""

from datetime import datetime, timedelta

from django.utils import timezone

from ..models import Transition


def in_state_since(*, kind: str, entity_id, field: str) -> datetime | None:
    """When `field` last changed value (None if it never did)."""
    return (
        Transition.objects.filter(kind=kind, entity_id=str(entity_id), field=field)
        .order_by("-at", "-id")
        .values_list("at", flat=True)
        .first()
    )


def in_state_for(*, kind: str, entity_id, field: str, now: datetime | None = None) -> timedelta | None:
    """How long `field` has held its current value (None if it never changed)."""
    since = in_state_since(kind=kind, entity_id=entity_id, field=field)
    if since is None:
        return None
    return (now or timezone.now()) - since


def transition_count(
    *, kind: str, entity_id, field: str, window: timedelta, now: datetime | None = None
) -> int:
    """How many times `field` changed value within the last `window`."""
    start = (now or timezone.now()) - window
    return Transition.objects.filter(kind=kind, entity_id=str(entity_id), field=field, at__gte=start).count()
