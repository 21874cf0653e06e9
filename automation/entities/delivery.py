"""Routing of committed change events, exactly once and per entity in commit order.

The change-event row is the durable record (an outbox); Celery messages only wake a worker. Every step
here is idempotent because a message may arrive twice or never: the sweeper re-sends what was missed.
"""

import logging
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from celery import signature
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from foundation.log_context import log_context

from ..columns import fit_key
from ..db_errors import is_transient
from ..models import ChangeEvent, DerivedTriggerEvent, SubscriptionDelivery
from ..sql.changes import changes_lock_unrouted_up_to
from ..sql.rows import insert_instances, update_instance
from .parking import attempt_count, attempt_uncount, record_failed_attempt, record_failure
from .registry import Change, Delivery, derive_events, registry, subscriptions_for

logger = logging.getLogger(__name__)

MAX_DELIVERY_ATTEMPTS = 10
MIN_HOLD_BACK = timedelta(seconds=1)
MAX_HOLD_BACK = timedelta(minutes=5)

# The engine's tasks, published by their stable names (automation/tasks.py declares them): importing the
# task module here would tie it, the engine and the mutation service into one import cycle. Their queues
# come from CELERY_TASK_ROUTES, so a process that never imported the task module routes them alike.
ROUTE_CHANGE_EVENT = "checkstack.route_change_event"
DELIVER_CHANGE = "checkstack.deliver_change"
BROADCAST_CHANGE = "checkstack.broadcast_change"


def as_change(event: ChangeEvent, *, replayed: bool = False) -> Change:
    return Change(
        change_id=str(event.change_id),
        kind=event.kind,
        entity_id=event.entity_id,
        prev=event.prev,
        next=event.next,
        delta=event.delta,
        changed_fields=list(event.changed_fields),
        actor=event.actor,
        occurred_at=event.occurred_at,
        depth=event.depth,
        replayed=replayed,
    )


def send_wakeup(task, *args) -> bool:
    """Publish a wake-up (`task`: a task or a signature); a broker outage is logged, not raised: the sweeper
    re-sends later."""
    try:
        task.delay(*args)
        return True
    except Exception:  # any broker failure; the durable row remains
        logger.warning("broker unavailable; %s(%s) left for the sweeper", task.name, args, exc_info=True)
        return False


def wake_router(change_id: str) -> None:
    """After commit: ask a worker to route this change event."""
    if not settings.CHECKSTACK_FAST_PATH:
        return
    send_wakeup(signature(ROUTE_CHANGE_EVENT), change_id)


@dataclass(frozen=True)
class RoutingResult:
    routed: list[str]
    deliveries: list[int]


def route_change_event(change_id: str, *, replay: bool = False) -> RoutingResult:
    """Route this event and every earlier unrouted, unparked event of its entity, oldest first.

    Idempotent: a routed event is skipped, so a duplicated message routes nothing twice. The attempt is
    counted first (parking.py); an event that fails is recorded and stops the events behind it until the
    next attempt, while the ones before it stay routed. `replay`: this event is a parked one an operator
    replays (changes_replay).
    """
    routed_ids, delivery_ids = [], []
    for _ in range(100):  # bounded: each turn routes a head, or finds it routed by another worker
        attempt = attempt_count(change_id)
        if attempt is None:
            break
        up_to = attempt.head_change_id if attempt.alone else change_id
        try:
            with transaction.atomic():
                pending = changes_lock_unrouted_up_to(change_id=up_to)
                routed, deliveries = _route(pending, attempt=attempt, replayed={str(change_id)} if replay else set())
                result = RoutingResult(routed=[str(e.change_id) for e in routed], deliveries=deliveries)
                if routed:
                    transaction.on_commit(partial(_after_routing, result, routed), robust=True)
        except Exception as exc:
            if is_transient(exc):
                attempt_uncount(attempt)
                raise  # the task's retry or the sweeper tries again; not the event's fault
            logger.exception("routing change %s failed", attempt.head_change_id)
            record_failed_attempt(attempt, exc)
            break
        routed_ids += result.routed
        delivery_ids += result.deliveries
        # The head went alone (an earlier attempt of it failed, or another worker's is still in flight) and is
        # routed now, here or by that worker: this event may still wait behind it, and nobody else may be
        # coming for it. A head that failed again stops here, as any failure does.
        head_routed = not pending or any(event.pk == attempt.head_id for event in routed)
        if not attempt.alone or uuid.UUID(attempt.head_change_id) == uuid.UUID(str(change_id)) or not head_routed:
            break
    return RoutingResult(routed=routed_ids, deliveries=delivery_ids)


def _derived(events: list[ChangeEvent], replayed: set) -> tuple[list, tuple | None]:
    """Each event's change and trigger events (pure derivers), up to the first event a deriver fails on."""
    batch = []
    for event in events:
        change = as_change(event, replayed=str(event.change_id) in replayed)
        try:
            batch.append((change, derive_events(change)))
        except Exception as exc:  # noqa: BLE001 - a deriver's failure is that event's, recorded below
            return batch, (event, exc)
    return batch, None


def _route(events: list[ChangeEvent], *, attempt, replayed: set) -> tuple[list[ChangeEvent], list[int]]:
    """Derive each event's trigger events, hand them all to the consumers at once (oldest first: one Stage 1,
    one set of locks for the transaction), then per event in its own savepoint (none for the head alone):
    store its trigger events, apply its effects, queue its deliveries, mark it routed.

    The first event that fails is rolled back to its savepoint and recorded; the events after it wait for
    the next attempt (per entity, order holds). Returns the events routed and their delivery ids.
    """
    batch, failure = _derived(events, replayed)
    appliers = [consumer(batch) for consumer in registry.trigger_consumers]
    routed, delivery_ids = [], []
    # The counted head alone needs no savepoint: nothing routed before it is to be kept, so its failure
    # rolls the whole transaction back and route_change_event records it on the head (record_failed_attempt).
    alone = len(events) == 1 and events[0].pk == attempt.head_id
    # The batch stops at the first event a deriver failed on: the events after it wait (strict=False).
    for index, (event, (change, derived)) in enumerate(zip(events, batch, strict=False)):
        try:
            with log_context(change_id=event.change_id), nullcontext() if alone else transaction.atomic():
                rows = insert_instances([
                    DerivedTriggerEvent(change=event, event=d.event, payload=d.payload,
                                        context_key=None if d.context_key is None else
                                        fit_key(DerivedTriggerEvent, "context_key", str(d.context_key)))
                    for d in derived])
                for apply in appliers:
                    apply[index](rows)
                ids = [SubscriptionDelivery.objects.create(subscriber=sub.name, change=event).id
                       for sub in subscriptions_for(change, Delivery.WORK_QUEUE)]
                event.routed_at = timezone.now()
                update_instance(event, ("routed_at",))
        except Exception as exc:
            if is_transient(exc) or alone:
                raise
            failure = (event, exc)
            break
        routed.append(event)
        delivery_ids.extend(ids)
    if failure is not None:
        event, exc = failure
        logger.error("routing change %s failed: %s", event.change_id, exc, exc_info=exc)
        record_failure(event, exc, counted=event.pk == attempt.head_id)
    return routed, delivery_ids


def _after_routing(result: RoutingResult, events: list[ChangeEvent]) -> None:
    for delivery_id in result.deliveries:
        send_wakeup(signature(DELIVER_CHANGE), delivery_id)
    for event in events:
        if subscriptions_for(as_change(event), Delivery.BROADCAST):
            send_wakeup(signature(BROADCAST_CHANGE), str(event.change_id))


def deliver_change(delivery_id: int) -> bool:
    """Run one work_queue subscriber on one change, at most once; True when it ran now."""
    with transaction.atomic():
        # of=self: lock the delivery only; locking its change too would make sibling deliveries of the same
        # change skip each other.
        delivery = (
            SubscriptionDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("change")
            .filter(pk=delivery_id, delivered_at=None)
            .first()
        )
        if delivery is None:
            return False  # done already, or another worker holds it
        subscription = registry.subscriptions.get(delivery.subscriber)
        if subscription is None:
            logger.error("no subscriber named %s; delivery %s left pending", delivery.subscriber, delivery_id)
            return False
        try:
            with transaction.atomic():
                subscription.handler(as_change(delivery.change))
        except Exception as exc:  # recorded; the sweeper retries up to the bound
            delivery.attempts += 1
            delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            delivery.save(update_fields=["attempts", "last_error"])
            logger.exception("subscriber %s failed on change %s", delivery.subscriber, delivery.change.change_id)
            return False
        delivery.attempts += 1
        delivery.delivered_at = timezone.now()
        delivery.save(update_fields=["attempts", "delivered_at"])
    return True


def broadcast_change(change_id: str) -> None:
    """Run every broadcast subscriber of this change in this worker (idempotent handlers only)."""
    event = ChangeEvent.objects.filter(change_id=change_id).first()
    if event is None:
        return
    change = as_change(event)
    for sub in subscriptions_for(change, Delivery.BROADCAST):
        try:
            sub.handler(change)
        except Exception:  # one handler's failure must not stop the others
            logger.exception("broadcast subscriber %s failed on change %s", sub.name, change_id)


@dataclass(frozen=True)
class SweepResult:
    events_resent: int
    deliveries_resent: int


def sweep_undelivered(*, grace: timedelta | None = None, limit: int = 500) -> SweepResult:
    """Re-send wake-ups for change events and deliveries still pending after the grace period.

    A re-sent item is held back (see hold_back): a message lost with the broker is re-sent soon, while a
    backlog the workers are still draining is not flooded with duplicates every sweep, and the sweep moves
    on past the oldest `limit`.
    """
    if grace is None:
        grace = timedelta(seconds=settings.CHECKSTACK_OUTBOX_GRACE_SECONDS)
    now = timezone.now()
    due = Q(resend_after__isnull=True) | Q(resend_after__lte=now)

    # One message per entity suffices: routing an event routes its entity's earlier ones first.
    # A parked event waits for an operator's replay, not for the sweeper.
    events = list(ChangeEvent.objects.filter(due, routed_at=None, parked_at=None, occurred_at__lte=now - grace)
                  .order_by("id").only("id", "kind", "entity_id", "change_id", "occurred_at")[:limit])
    heads = {(e.kind, e.entity_id): str(e.change_id) for e in events}
    sent = {entity for entity, change_id in heads.items()
            if send_wakeup(signature(ROUTE_CHANGE_EVENT), change_id)}
    hold_back(ChangeEvent, [e for e in events if (e.kind, e.entity_id) in sent], since="occurred_at", now=now)

    deliveries = list(SubscriptionDelivery.objects.filter(
        due, delivered_at=None, created_at__lte=now - grace, attempts__lt=MAX_DELIVERY_ATTEMPTS
    ).order_by("id").only("id", "created_at")[:limit])
    resent = [d for d in deliveries if send_wakeup(signature(DELIVER_CHANGE), d.id)]
    hold_back(SubscriptionDelivery, resent, since="created_at", now=now)
    return SweepResult(events_resent=len(sent), deliveries_resent=len(resent))


def hold_back(model, rows: list, *, since: str, now) -> None:
    """After re-sending their wake-ups: no re-send of these rows before they have been pending twice as
    long as now (a second at least, five minutes at most), in one UPDATE."""
    for row in rows:
        row.resend_after = now + min(max(now - getattr(row, since), MIN_HOLD_BACK), MAX_HOLD_BACK)
    model.objects.bulk_update(rows, ["resend_after"], batch_size=500)


@dataclass(frozen=True)
class ReplayResult:
    change_id: str
    routed: bool
    error: str = ""


def change_replay(*, change_id: str, actor: str) -> ReplayResult:
    """Route a parked change once more, now, with its own `occurred_at` as the clock; a replay that fails
    parks it again at once with the new error. A change that is not parked is left alone."""
    with transaction.atomic():
        event = (ChangeEvent.objects.select_for_update(no_key=True)
                 .filter(change_id=change_id, parked_at__isnull=False, routed_at=None).first())
        if event is None:
            return ReplayResult(change_id=str(change_id), routed=False, error="not a parked change")
        event.parked_at, event.routing_attempts, event.first_attempted_at = None, 0, None
        event.save(update_fields=["parked_at", "routing_attempts", "first_attempted_at"])
    logger.info("change %s replayed by %s", change_id, actor)
    route_change_event(str(change_id), replay=True)
    event.refresh_from_db()
    if event.routed_at is not None:
        return ReplayResult(change_id=str(change_id), routed=True)
    with transaction.atomic():
        ChangeEvent.objects.filter(pk=event.pk, routed_at=None).update(parked_at=timezone.now())
    return ReplayResult(change_id=str(change_id), routed=False, error=event.last_routing_error)
