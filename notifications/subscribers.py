"""Writes of subscribers: operators' adds and edits, the public form's requests, confirm and unsubscribe.

Subscribers are not tracked entities (no transitions or change events), but every write still comes here.
A confirmation email owed is a durable mark on the row (`confirmation_requested_at`): the wake-up after
commit is only the fast path, and the notifications sweeper sends what a lost wake-up left owed.
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Prefetch, Q, QuerySet
from django.utils import timezone

from automation.entities.delivery import send_wakeup
from catalog.models import Group, System
from catalog.selectors import existing_group_ids, existing_system_ids

from .models import Subscriber

logger = logging.getLogger(__name__)

SUBSCRIBER_FIELDS = frozenset({"email", "system_ids", "group_ids", "confirmed"})
EMAIL_TAKEN = "A subscriber with this email already exists."


def normalize_email(email: str) -> str:
    """The stored form of an address: trimmed and lowercased (mail systems treat case alike in practice)."""
    return email.strip().lower()


def _wake_confirmation(subscriber_id: str) -> None:
    """After commit: ask a worker to send the confirmation email (the sweeper re-sends if this is lost)."""
    from . import tasks  # tasks imports the modules that import this one

    send_wakeup(tasks.send_subscription_confirmation, subscriber_id)


def _owe_confirmation(subscriber_id) -> None:
    transaction.on_commit(lambda: _wake_confirmation(str(subscriber_id)), robust=True)


def _check_email(email: str) -> str:
    email = normalize_email(email)
    Subscriber._meta.get_field("email").run_validators(email)
    return email


def subscriber_create(*, email: str, system_ids: Iterable = (), group_ids: Iterable = (), confirmed: bool = False,
                      actor: str) -> Subscriber:
    """Add a subscriber as an operator; an unconfirmed one is sent a confirmation email."""
    email = _check_email(email)
    ids = existing_system_ids(system_ids)
    groups = existing_group_ids(group_ids)
    now = timezone.now()
    with transaction.atomic():
        subscriber = Subscriber.objects.create(
            email=email,
            confirmed=confirmed,
            confirmed_at=now if confirmed else None,
            confirmation_requested_at=None if confirmed else now,
        )
        subscriber.systems.set(ids)
        subscriber.groups.set(groups)
        if not confirmed:
            _owe_confirmation(subscriber.pk)
    logger.info("subscriber %s added by %s", subscriber.pk, actor)
    return subscriber


def subscriber_update(*, subscriber: Subscriber, actor: str, **fields) -> Subscriber:
    """Set any of email, system_ids, group_ids, confirmed on the locked row; returns that row."""
    if unknown := set(fields) - SUBSCRIBER_FIELDS:
        raise TypeError(f"subscriber_update() got unknown fields: {', '.join(sorted(unknown))}")
    email = _check_email(fields["email"]) if "email" in fields else None
    ids = existing_system_ids(fields["system_ids"]) if "system_ids" in fields else None
    groups = existing_group_ids(fields["group_ids"]) if "group_ids" in fields else None
    with transaction.atomic():
        current = Subscriber.objects.select_for_update().filter(pk=subscriber.pk).first()
        if current is None:
            raise Subscriber.DoesNotExist(f"subscriber {subscriber.pk} does not exist")
        if email is not None:
            current.email = email
        if "confirmed" in fields and fields["confirmed"] != current.confirmed:
            current.confirmed = fields["confirmed"]
            current.confirmed_at = timezone.now() if current.confirmed else None
        current.save()
        if ids is not None:
            current.systems.set(ids)
        if groups is not None:
            current.groups.set(groups)
    logger.info("subscriber %s changed by %s", current.pk, actor)
    return current


def subscriber_delete(*, subscriber: Subscriber, actor: str) -> None:
    """Remove a subscriber; emails owed to it are dropped with it."""
    Subscriber.objects.filter(pk=subscriber.pk).delete()
    logger.info("subscriber %s removed by %s", subscriber.pk, actor)


def subscriber_request_confirmation(*, subscriber: Subscriber, actor: str) -> None:
    """Owe the subscriber a (new) confirmation email; its link confirms what it then lists."""
    with transaction.atomic():
        Subscriber.objects.filter(pk=subscriber.pk).update(confirmation_requested_at=timezone.now())
        _owe_confirmation(subscriber.pk)
    logger.info("confirmation for subscriber %s requested by %s", subscriber.pk, actor)


def subscriber_request(*, email: str, system_ids: Iterable, group_ids: Iterable = (), actor: str) -> None:
    """Record a public request to follow systems and groups and owe the address a confirmation email.

    Nothing is followed until the address's owner confirms. The same queries run whether the address is
    new, waiting for confirmation or confirmed (one upsert, one read), so neither the answer nor its timing
    tells whether an address is subscribed.
    """
    email = _check_email(email)
    ids = existing_system_ids(system_ids)
    groups = existing_group_ids(group_ids)
    with transaction.atomic():
        # An upsert, not get-or-create: one statement whatever the row's state. A new request replaces an
        # older unconfirmed one; the token, confirmation and followed systems are kept.
        Subscriber.objects.bulk_create(
            [Subscriber(email=email, requested_system_ids=ids, requested_group_ids=groups,
                        confirmation_requested_at=timezone.now())],
            update_conflicts=True,
            unique_fields=["email"],
            update_fields=["requested_system_ids", "requested_group_ids", "confirmation_requested_at", "updated_at"],
        )
        subscriber_id = Subscriber.objects.values_list("pk", flat=True).get(email=email)
        _owe_confirmation(subscriber_id)
    logger.info("subscription request for subscriber %s by %s", subscriber_id, actor)


def confirmation_pending(subscriber: Subscriber, *, now: datetime, max_age: timedelta) -> bool:
    """Whether the subscriber's confirm link still confirms something (a request younger than max_age)."""
    requested = subscriber.confirmation_requested_at
    return requested is not None and requested > now - max_age


def subscriber_confirm(*, subscriber: Subscriber, now: datetime, max_age: timedelta, actor: str) -> bool:
    """Confirm the address and follow the systems and groups it asked for; False when no request is pending."""
    with transaction.atomic():
        current = Subscriber.objects.select_for_update().filter(pk=subscriber.pk).first()
        if current is None or not confirmation_pending(current, now=now, max_age=max_age):
            return False
        # Systems deleted since the request are dropped here rather than failing the confirmation.
        requested = System.objects.filter(pk__in=current.requested_system_ids).values_list("pk", flat=True)
        current.systems.add(*requested)
        current.groups.add(*Group.objects.filter(pk__in=current.requested_group_ids).values_list("pk", flat=True))
        current.requested_system_ids = []
        current.requested_group_ids = []
        current.confirmation_requested_at = None
        if not current.confirmed:
            current.confirmed, current.confirmed_at = True, now
        current.save()
    logger.info("subscriber %s confirmed by %s", current.pk, actor)
    return True


def subscriber_unsubscribe(*, token: str, actor: str) -> None:
    """Forget the subscriber holding this link's token; idempotent (an unknown token does nothing)."""
    removed, _ = Subscriber.objects.filter(unsubscribe_token=token).delete()
    if removed:
        logger.info("a subscriber unsubscribed (%s)", actor)


def subscriber_mark_confirmation_sent(*, subscriber_id, requested_at: datetime) -> None:
    """Record that the confirmation owed for the request made at `requested_at` went out."""
    # Conditional: a newer request made meanwhile stays owed.
    Subscriber.objects.filter(pk=subscriber_id, confirmation_requested_at=requested_at).update(
        confirmation_sent_at=requested_at
    )


def subscribers_confirmation_owed(*, now: datetime, grace: timedelta, max_age: timedelta) -> QuerySet[Subscriber]:
    """Subscribers whose confirmation email is still owed after `grace` (and not yet expired)."""
    return Subscriber.objects.filter(
        confirmation_requested_at__lte=now - grace, confirmation_requested_at__gt=now - max_age
    ).filter(Q(confirmation_sent_at__isnull=True) | Q(confirmation_sent_at__lt=F("confirmation_requested_at")))


def subscribers_purge_expired(*, now: datetime, max_age: timedelta) -> int:
    """Delete addresses that asked to subscribe, never confirmed, and whose link has expired."""
    removed, _ = Subscriber.objects.filter(
        confirmed=False, systems__isnull=True, groups__isnull=True, confirmation_requested_at__lte=now - max_age
    ).delete()
    return removed


def subscriber_list() -> QuerySet[Subscriber]:
    """Subscribers by email with their followed systems' and groups' ids prefetched (three queries a page)."""
    return Subscriber.objects.prefetch_related(
        Prefetch("systems", queryset=System.objects.only("id").order_by("id")),
        Prefetch("groups", queryset=Group.objects.only("id").order_by("id")),
    ).order_by("email")


def subscribers_following(*, system_ids: Iterable) -> list:
    """Ids of the confirmed subscribers following any of these systems, directly or through a group (as the
    groups are now: a system added to a group later is heard about), each once, sorted."""
    system_ids = list(system_ids)
    if not system_ids:
        return []
    confirmed = Subscriber.objects.filter(confirmed=True)
    direct = confirmed.filter(systems__in=system_ids).values_list("pk", flat=True)
    grouped = confirmed.filter(groups__systems__in=system_ids).values_list("pk", flat=True)
    return sorted(set(direct) | set(grouped))
