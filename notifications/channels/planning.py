"""Which channels hear about a change: the work_queue subscribers that record one delivery per channel.

Runs inside the subscriber delivery's transaction (on the deliveries queue, never in routing's), so the
delivery rows commit with it or not at all; each row is sent by its own task after that commit, so a slow
channel holds neither this transaction nor another channel's delivery.
"""

from functools import partial

from django.db import transaction

from automation.entities.delivery import as_change, send_wakeup
from automation.entities.registry import Change, Delivery, subscribe
from automation.models import ChangeEvent, SubscriptionDelivery
from catalog.models import System
from incidents.models import Incident
from maintenance.models import MaintenanceWindow

from .events import CHANNEL_KINDS, affected_system_ids, change_message, channel_event
from .models import Channel, ChannelDelivery, DeliveryStatus

# Kinds whose entity may silence its announcements (`suppress_notifications`), by the row as it is now.
SILENCEABLE = {"incident": Incident, "maintenance": MaintenanceWindow}


def channel_wants(channel: Channel, event: str, system_ids: set[str], group_ids: set[str]) -> bool:
    """Whether an enabled channel wants this event about these systems (pure).

    No systems and no groups chosen: every system. A group covers the systems in it when the change
    happens, so a system added to the group later is covered from then on.
    """
    if event not in channel.events:
        return False
    chosen = {str(system.pk) for system in channel.systems.all()}
    groups = {str(group.pk) for group in channel.groups.all()}
    if not chosen and not groups:
        return True
    return bool(chosen & system_ids) or bool(groups & group_ids)


def _entity(change: Change):
    model = SILENCEABLE.get(change.kind)
    return None if model is None else model.objects.filter(pk=change.entity_id).first()


def _group_ids(system_ids: set[str]) -> set[str]:
    """The groups these systems are in now."""
    return {str(pk) for pk in System.objects.filter(pk__in=system_ids).exclude(group_id=None)
            .values_list("group_id", flat=True)}


def channels_plan(change: Change) -> list[int]:
    """Record the deliveries owed for this change, after those of its entity's earlier changes still unplanned.

    Routing hands an entity's changes over in commit order, but their deliveries run side by side: the
    "resolved" one may be handled before the "created" one. Planning the earlier ones first gives their
    messages the lower ids, and a channel sends its messages in id order (sending.py), so a PagerDuty
    resolve never reaches the service before its trigger. Idempotent: the earlier change's own delivery
    later finds its rows written.
    """
    for earlier in _earlier_unplanned(change):
        _plan(earlier)
    return _plan(change)


def _earlier_unplanned(change: Change) -> list[Change]:
    """The entity's earlier changes whose channel planning has not run yet, oldest first."""
    current = ChangeEvent.objects.filter(change_id=change.change_id).values_list("id", flat=True).first()
    if current is None:
        return []
    pending = SubscriptionDelivery.objects.filter(
        subscriber=f"notifications.channels.{change.kind}", delivered_at=None, change__kind=change.kind,
        change__entity_id=change.entity_id, change_id__lt=current).values("change_id")
    return [as_change(event) for event in ChangeEvent.objects.filter(pk__in=pending).order_by("id")]


def _plan(change: Change) -> list[int]:
    """Record one pending delivery per enabled channel that wants the change; idempotent (may run twice)."""
    event = channel_event(change)
    if event is None:
        return []
    entity = _entity(change)
    if change.kind in SILENCEABLE and (entity is None or entity.suppress_notifications):
        return []  # deleted since, or muted: silenced on channels as in email
    system_ids = set(affected_system_ids(change))
    group_ids = _group_ids(system_ids)
    channels = [c for c in Channel.objects.filter(enabled=True).prefetch_related("systems", "groups").order_by("pk")
                if channel_wants(c, event, system_ids, group_ids)]
    if not channels:
        return []
    message = change_message(change, event, entity)
    ChannelDelivery.objects.bulk_create(
        [ChannelDelivery(channel=c, change_id=change.change_id, event=event, message=message) for c in channels],
        ignore_conflicts=True,
    )
    ids = list(ChannelDelivery.objects.filter(change_id=change.change_id, status=DeliveryStatus.PENDING)
               .order_by("id").values_list("id", flat=True))
    transaction.on_commit(partial(wake_deliveries, ids), robust=True)
    return ids


def wake_deliveries(delivery_ids: list[int]) -> None:
    """One task per MAX_PARALLEL_SENDS deliveries: each sends its share side by side (sending.py)."""
    from .. import tasks
    from .sending import MAX_PARALLEL_SENDS

    for start in range(0, len(delivery_ids), MAX_PARALLEL_SENDS):
        send_wakeup(tasks.send_channel_deliveries, delivery_ids[start:start + MAX_PARALLEL_SENDS])


def wanted(change: Change) -> bool:
    """Whether the change is a channel event some enabled channel subscribes to: the others cost no delivery.

    Asked by routing, inside its transaction, for each change of a channel kind. The pure check comes first,
    so a change that is no channel event costs nothing; a channel event costs one read of the enabled
    channels, instead of a delivery row, its task and its transaction when no channel listens (e.g. a health
    change on an installation without channels). Not a cached flag: a channel saved in one process must be
    heard by the routing workers at once, and a read is the only way to know without one.
    """
    event = channel_event(change)
    return event is not None and channels_listening(event)


def channels_listening(event: str) -> bool:
    """Whether an enabled channel has `event` among its events (one statement; index channel_enabled)."""
    return any(event in (events or []) for events in
               Channel.objects.filter(enabled=True).values_list("events", flat=True))


def register() -> None:
    for kind in CHANNEL_KINDS:
        subscribe(kind, channels_plan, name=f"notifications.channels.{kind}", delivery=Delivery.WORK_QUEUE,
                  wants=wanted)
