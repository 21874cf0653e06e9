"""Writes of channels and their deliveries, for the API, the admin and the notify.send action.

A channel is not reactive state (no automation reacts to a channel edit), so it is a plain model written
here; its credentials are sealed before they are stored and never returned.
"""

import base64
import logging
import secrets
import time
from dataclasses import dataclass
from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from automation.masking import masking_scope
from catalog.models import Group
from catalog.selectors import existing_system_ids
from foundation.egress import TargetRefused

from ..conf import channel_timeout
from .events import direct_message
from .formats import build_request
from .kinds import WEBHOOK_SECRET_PREFIX, ConfigError, config_validate
from .models import Channel, ChannelDelivery, ChannelEvent, ChannelKind, DeliveryStatus, new_message_id
from .sending import answer_error, error_text
from .transport import send
from .vault import full_config, seal

logger = logging.getLogger(__name__)


def new_webhook_secret() -> str:
    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _system_ids(system_ids) -> list[str]:
    """Existing systems, locked until commit (see existing_system_ids); unknown ones a system_ids error."""
    try:
        return existing_system_ids(list(system_ids), lock=True)
    except ValidationError as exc:
        raise ValidationError({"system_ids": exc.messages}) from None


def _check(*, events: list[str], group_ids: list) -> None:
    unknown = sorted(set(events) - set(ChannelEvent.values))
    if unknown:
        raise ValidationError({"events": [f"unknown event(s): {', '.join(unknown)}"]})
    if group_ids:
        wanted = {str(g) for g in group_ids}
        found = {str(pk) for pk in Group.objects.filter(pk__in=wanted).values_list("pk", flat=True)}
        if missing := sorted(wanted - found):
            raise ValidationError({"group_ids": [f"Unknown group id(s): {', '.join(missing)}."]})


def _sealed(kind: str, config: dict) -> tuple[dict, bytes, str | None]:
    """(public config, sealed secret parts, the generated webhook secret if one was made)."""
    generated = None
    if kind == ChannelKind.WEBHOOK and not config.get("secret"):
        config = {**config, "secret": (generated := new_webhook_secret())}
    public, secret = config_validate(kind, config)
    return public, seal(secret), generated


@dataclass(frozen=True)
class Created:
    channel: Channel
    webhook_secret: str | None  # shown once, in the create response; None when the caller chose it


@transaction.atomic
def channel_create(*, name: str, kind: str, config: dict, enabled: bool = True, system_ids=(), group_ids=(),
                   events=(), actor: str) -> Created:
    """Create a channel; raises ConfigError (config field errors) or ValidationError."""
    _check(events=list(events), group_ids=list(group_ids))
    public, sealed, generated = _sealed(kind, config)
    channel = Channel.objects.create(name=name, kind=kind, enabled=enabled, config=public, secret_config=sealed,
                                     events=list(dict.fromkeys(events)))
    channel.systems.set(_system_ids(system_ids))
    channel.groups.set([str(g) for g in group_ids])
    logger.info("channel %s (%s) created by %s", channel.pk, kind, actor)
    return Created(channel=channel, webhook_secret=generated)


@transaction.atomic
def channel_update(*, channel: Channel, actor: str, config: dict | None = None, **changes) -> Channel:
    """Change a channel; a config without a secret part keeps the stored one (secrets are write-only)."""
    channel = Channel.objects.select_for_update().get(pk=channel.pk)
    kind = changes.get("kind", channel.kind)
    if "events" in changes or "group_ids" in changes:
        _check(events=list(changes.get("events", channel.events)), group_ids=list(changes.get("group_ids", [])))
    if config is not None or kind != channel.kind:
        with masking_scope():
            # Same kind: the stored secrets stand for those left out. A new kind starts from what is sent.
            base = full_config(channel) if kind == channel.kind else {}
            channel.config, channel.secret_config, _ = _sealed(kind, {**base, **(config or {})})
    for field in ("name", "kind", "enabled", "events"):
        if field in changes:
            setattr(channel, field, changes[field])
    channel.save()
    if "system_ids" in changes:
        channel.systems.set(_system_ids(changes["system_ids"]))
    if "group_ids" in changes:
        channel.groups.set([str(g) for g in changes["group_ids"]])
    logger.info("channel %s updated by %s", channel.pk, actor)
    return channel


def channel_delete(*, channel: Channel, actor: str) -> None:
    channel.delete()
    logger.info("channel %s deleted by %s", channel.pk, actor)


@dataclass(frozen=True)
class SendResult:
    ok: bool
    status_code: int | None
    body: str
    error: str | None


def channel_send_now(*, channel: Channel, message: dict, message_id: str, deadline: float) -> SendResult:
    """Send one message right now, outside any delivery row (a test, an automation's step); what came back."""
    with masking_scope():
        try:
            answer = send(build_request(channel.kind, full_config(channel), message, message_id), deadline=deadline)
        except (TargetRefused, ConfigError) as exc:
            return SendResult(ok=False, status_code=None, body="", error=error_text(exc))
        except Exception as exc:  # noqa: BLE001 - network, TLS, deadline: reported to the caller
            return SendResult(ok=False, status_code=None, body="", error=error_text(exc))
        error = None if answer.ok else answer_error(answer)
        return SendResult(ok=answer.ok, status_code=answer.status, body=answer.body, error=error)


def channel_test(*, channel: Channel, actor: str) -> SendResult:
    """Send a test message through the channel and return what the service answered."""
    message = direct_message(event="test", title=f"Test message from Checkstack ({channel.name})",
                             text=f"Sent by {actor} to check this channel.", key=f"test:{channel.pk}")
    result = channel_send_now(channel=channel, message=message, message_id=new_message_id(),
                              deadline=time.monotonic() + channel_timeout())
    logger.info("channel %s tested by %s: %s", channel.pk, actor, "ok" if result.ok else "failed")
    return result


def deliveries_replay(*, delivery_ids: list[int], actor: str) -> list[int]:
    """Send failed deliveries again, with their message ids (an operator's decision after a fix)."""
    from .planning import wake_deliveries

    with transaction.atomic():
        replayed = list(ChannelDelivery.objects.select_for_update().filter(
            pk__in=delivery_ids, status=DeliveryStatus.FAILED).values_list("id", flat=True))
        ChannelDelivery.objects.filter(pk__in=replayed).update(
            status=DeliveryStatus.PENDING, next_attempt_at=timezone.now(), attempts=0, claimed_at=None)
        transaction.on_commit(partial(wake_deliveries, replayed), robust=True)
    logger.info("channel deliveries %s replayed by %s", replayed, actor)
    return replayed


def channel_find(reference: str) -> Channel | None:
    """A channel by id or by name."""
    channel = Channel.objects.filter(name=reference).first()
    if channel is None:
        try:
            channel = Channel.objects.filter(pk=reference).first()
        except ValidationError:
            return None
    return channel
