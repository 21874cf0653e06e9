"""Change events whose routing keeps failing: attempts counted before each try, parked when spent, replayed.

An attempt is counted in one statement (automation.sql.changes), committed on its own before the routing
transaction starts, so an attempt that kills its worker (a poison that exhausts memory, a segfault) counts as
surely as one that raises. Only the entity's head event (its oldest unrouted, unparked one) is counted: the
events behind it have not been tried yet. Transient database errors (lost connection, deadlock, serialization
failure) are not the event's fault: their count is undone.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from ..models import ChangeEvent
from ..sql.changes import change_attempt_count

logger = logging.getLogger(__name__)

ERROR_LENGTH = 2000


@dataclass(frozen=True)
class Attempt:
    """One counted routing attempt of an entity's head event."""

    head_id: int
    head_change_id: str
    # A previous attempt of the head never completed (it failed, or killed its worker): route the head alone,
    # so a poison behind a good head never gets the good head counted and parked.
    alone: bool


def attempt_count(change_id: str) -> Attempt | None:
    """Count (and commit) an attempt on the head of this event's entity, up to this event; park a head whose
    attempts were spent instead and take the next. None when nothing up to this event is left to route."""
    try:
        change_id = uuid.UUID(str(change_id))
    except ValueError:
        return None
    for _ in range(100):  # bounded: each turn parks a head, or finds one another worker just routed
        now = timezone.now()
        counted = change_attempt_count(change_id=change_id, now=now)
        if counted is None:
            if not _unrouted_up_to(change_id):
                return None
            continue  # routed meanwhile by another worker: look again
        # Before this attempt: one fewer; the first attempt's time is the returned one (COALESCE kept it).
        head = ChangeEvent(pk=counted.pk, change_id=counted.change_id, routing_attempts=counted.routing_attempts - 1,
                           first_attempted_at=counted.first_attempted_at)
        if head.routing_attempts >= 1 and park_due(head, now):
            # Spent before this attempt: park it (its count stays as it was) and take the next head.
            ChangeEvent.objects.filter(pk=head.pk).update(routing_attempts=head.routing_attempts, parked_at=now)
            park(ChangeEvent.objects.get(pk=head.pk), None)
            continue
        return Attempt(head_id=head.pk, head_change_id=str(head.change_id), alone=head.routing_attempts >= 1)
    return None


def _unrouted_up_to(change_id) -> bool:
    target = ChangeEvent.objects.filter(change_id=change_id).values("id", "kind", "entity_id").first()
    return target is not None and ChangeEvent.objects.filter(
        kind=target["kind"], entity_id=target["entity_id"], id__lte=target["id"], routed_at=None,
        parked_at=None).exists()


def park_due(event: ChangeEvent, now) -> bool:
    """Its attempts are spent: enough of them, spread over long enough (a burst of retries is not enough)."""
    return (event.routing_attempts >= settings.CHECKSTACK_PARK_AFTER_ATTEMPTS
            and event.first_attempted_at is not None
            and now - event.first_attempted_at >= timedelta(seconds=settings.CHECKSTACK_PARK_AFTER_SECONDS))


def park(event: ChangeEvent, now) -> None:
    """Park it (`now`; None: parked already by the caller's UPDATE) and say so in the log."""
    if now is not None:
        event.parked_at = now
        event.save(update_fields=["parked_at"])
    logger.error("change %s of %s:%s parked after %s routing attempts: %s", event.change_id, event.kind,
                 event.entity_id, event.routing_attempts, event.last_routing_error)


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:ERROR_LENGTH]


def record_failure(event: ChangeEvent, exc: BaseException, *, counted: bool) -> None:
    """In the current transaction: why routing this event failed; park it now if it was the counted head and
    its attempts are spent (saves waiting for the next try to find out)."""
    event.last_routing_error = error_text(exc)
    event.save(update_fields=["last_routing_error"])
    if counted:
        event.refresh_from_db(fields=["routing_attempts", "first_attempted_at"])
        now = timezone.now()
        if park_due(event, now):
            park(event, now)


def record_failed_attempt(attempt: Attempt, exc: BaseException) -> None:
    """The whole routing transaction failed (rolled back): record it on the head in a transaction of its own."""
    try:
        with transaction.atomic():
            head = ChangeEvent.objects.select_for_update(no_key=True).filter(pk=attempt.head_id, routed_at=None).first()
            if head is not None:
                record_failure(head, exc, counted=True)
    except Exception:  # the count is committed already; the next attempt records again
        logger.exception("could not record the routing failure of change %s", attempt.head_change_id)


def attempt_uncount(attempt: Attempt) -> None:
    """A transient error ended the attempt: it was not the event's fault, so it does not count."""
    try:
        connection.close_if_unusable_or_obsolete()
        with transaction.atomic():
            ChangeEvent.objects.filter(pk=attempt.head_id, routing_attempts__gt=0).update(
                routing_attempts=F("routing_attempts") - 1)
    except Exception:  # the database is away: the attempt stays counted, a bound still holds
        logger.warning("could not undo the attempt count of change %s", attempt.head_change_id, exc_info=True)


def parked_count() -> int:
    return ChangeEvent.objects.filter(parked_at__isnull=False, routed_at=None).count()
