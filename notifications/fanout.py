"""Who hears about an incident or maintenance change: the work_queue subscribers that record the emails owed."""

from functools import partial

from django.db import transaction

from automation.entities.delivery import send_wakeup
from automation.entities.registry import Change, Delivery, subscribe
from automation.models import ChangeEvent
from catalog.models import System
from incidents.models import Incident, IncidentUpdate
from maintenance.models import MaintenanceUpdate, MaintenanceWindow

from .conf import public_url
from .models import Notification, NotificationSend, SendStatus
from .subscribers import subscribers_following
from .topics import notification_topic

# kind → (model, its update model, the update's foreign key to it)
ENTITIES = {
    "incident": (Incident, IncidentUpdate, "incident"),
    "maintenance": (MaintenanceWindow, MaintenanceUpdate, "window"),
}


def notifications_plan(change: Change) -> list[int]:
    """Record one pending email per confirmed follower of an affected system; idempotent (may run twice).

    Runs inside the delivery's transaction, so the rows commit with the delivery or not at all; the sends
    are woken only after that commit, and the sweeper wakes any whose wake-up was lost.
    """
    topic = notification_topic(change)
    if topic is None:
        return []
    model = ENTITIES[change.kind][0]
    # The row as it is now: a window or incident deleted, or muted, since the change announces nothing.
    entity = model.objects.filter(pk=change.entity_id).first()
    if entity is None or entity.suppress_notifications:
        return []
    # Each once: a subscriber following two affected systems, or one both directly and through its group,
    # is owed one email, not two.
    subscriber_ids = subscribers_following(system_ids=change.next.get("system_ids") or [])
    if not subscriber_ids:
        return []
    notification, _ = Notification.objects.get_or_create(
        change_id=change.change_id,
        defaults={
            "kind": change.kind,
            "entity_id": change.entity_id,
            "topic": topic,
            "context": notification_context(change, entity),
        },
    )
    NotificationSend.objects.bulk_create(
        [NotificationSend(notification=notification, subscriber_id=pk) for pk in subscriber_ids],
        ignore_conflicts=True,
    )
    send_ids = list(notification.sends.filter(status=SendStatus.PENDING).order_by("id").values_list("id", flat=True))
    transaction.on_commit(partial(wake_sends, send_ids), robust=True)
    return send_ids


def wake_sends(send_ids: list[int]) -> None:
    from . import tasks

    for send_id in send_ids:
        send_wakeup(tasks.send_notification, send_id)


def notification_context(change: Change, entity) -> dict:
    """What the emails about this change show, as of the change."""
    state = change.next
    names = System.objects.filter(pk__in=state.get("system_ids") or []).order_by("name").values_list("name", flat=True)
    context = {
        "kind": change.kind,
        "title": entity.title,
        "description": entity.description,
        "status": state.get("status"),
        "systems": list(names),
        "message": change_message(change),
        "status_url": f"{public_url()}/status/",
    }
    if change.kind == "incident":
        context["severity"] = state.get("severity")
    else:
        context.update(start_at=state.get("start_at"), end_at=state.get("end_at"))
    return context


def change_message(change: Change) -> str:
    """The update posted by this change (the one setting its new status), or "" when it posted none.

    An update posted by a change was written in its transaction: after the entity's previous change and
    no later than this one.
    """
    _model, update_model, fk = ENTITIES[change.kind]
    updates = update_model.objects.filter(
        **{f"{fk}_id": change.entity_id},
        status_change=change.next.get("status"),
        created_at__lte=change.occurred_at,
    )
    previous = (
        ChangeEvent.objects.filter(kind=change.kind, entity_id=change.entity_id, occurred_at__lt=change.occurred_at)
        .order_by("-occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )
    if previous is not None:
        updates = updates.filter(created_at__gt=previous)
    latest = updates.order_by("-created_at").values_list("message", flat=True).first()
    return latest or ""


def register() -> None:
    for kind in ENTITIES:
        subscribe(kind, notifications_plan, name=f"notifications.{kind}", delivery=Delivery.WORK_QUEUE,
                  wants=announces)


def announces(change: Change) -> bool:
    """Whether the change has a topic (pure): the others cost no delivery."""
    return notification_topic(change) is not None
