"""Channels and the deliveries owed to them (imported by notifications.models, so Django finds them)."""

import secrets
import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from catalog.models import Group, System


class ChannelKind(models.TextChoices):
    SLACK = "slack"
    TEAMS = "teams"
    DISCORD = "discord"
    MATTERMOST = "mattermost"
    TELEGRAM = "telegram"
    PAGERDUTY = "pagerduty"
    OPSGENIE = "opsgenie"
    NTFY = "ntfy"
    WEBHOOK = "webhook"
    EMAIL = "email"


class ChannelEvent(models.TextChoices):
    INCIDENT_CREATED = "incident.created"
    INCIDENT_UPDATED = "incident.updated"
    INCIDENT_RESOLVED = "incident.resolved"
    MAINTENANCE_SCHEDULED = "maintenance.scheduled"
    MAINTENANCE_STARTED = "maintenance.started"
    MAINTENANCE_COMPLETED = "maintenance.completed"
    HEALTH_CHANGED = "health.changed"
    IMPACT_CHANGED = "impact.changed"
    SLO_STATUS_CHANGED = "slo.status_changed"


class Channel(models.Model):
    """A destination (a Slack webhook, a PagerDuty service…) and which changes it wants to hear about."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=ChannelKind.choices)
    enabled = models.BooleanField(default=True)
    # The kind's non-secret settings (chat id, endpoint of a regional or self-hosted service).
    config = models.JSONField(default=dict, blank=True)
    # The kind's credentials (webhook URLs, tokens, routing keys) as one Fernet token of a JSON object,
    # encrypted with the automation secrets' keys (channels/vault.py); never shown, logged or sent to the broker.
    secret_config = models.BinaryField(default=b"", editable=False)
    # None of either: every system. A group stands for the systems in it when a change is sent (those
    # added later included).
    systems = models.ManyToManyField(System, related_name="channels", blank=True)
    groups = models.ManyToManyField(Group, related_name="channels", blank=True)
    events = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [("use_channel", "Can send messages through channels from automations")]
        constraints = [models.CheckConstraint(condition=Q(kind__in=ChannelKind.values), name="channel_kind_valid")]
        # Routing's gate (planning.channels_listening) reads the enabled channels for every channel event.
        indexes = [models.Index(fields=["enabled"], name="channel_enabled")]

    def __str__(self):
        return f"{self.name} ({self.kind})"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


def new_message_id() -> str:
    """The message's id for its whole life (every retry): the idempotency header and `webhook-id`."""
    return f"msg_{secrets.token_hex(16)}"


class ChannelDelivery(models.Model):
    """One message owed to one channel about one change: the row that keeps retries from sending twice."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    change_id = models.UUIDField()
    event = models.CharField(max_length=40, choices=ChannelEvent.choices)
    # What the message says, as of the change (title, systems, link…): a late retry says what happened then.
    message = models.JSONField(default=dict)
    message_id = models.CharField(max_length=40, unique=True, default=new_message_id, editable=False)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # Not before: a refused or rate-limited attempt waits here (a row the sweeper wakes, not a countdown).
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "channel deliveries"
        constraints = [
            # One message per channel per change, however often the planning runs: the no-duplicate rule.
            models.UniqueConstraint(fields=["channel", "change_id"], name="channel_delivery_once"),
            models.CheckConstraint(condition=Q(status__in=DeliveryStatus.values), name="channel_delivery_status_valid"),
        ]
        indexes = [
            # The sweeper: pending deliveries that are due.
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="channel_delivery_due"),
            # The sweeper: claims whose worker may be lost.
            models.Index(fields=["claimed_at"], condition=Q(status="sending"), name="channel_delivery_claimed"),
            # /metrics and /healthz: failed deliveries; the admin's recent failures.
            models.Index(fields=["created_at"], condition=Q(status="failed"), name="channel_delivery_failed"),
            # The retention purge: finished deliveries older than the cutoff.
            models.Index(fields=["created_at"], condition=Q(status__in=["sent", "failed"]),
                         name="channel_delivery_done"),
            # A channel's queue: its message in flight, and its oldest pending one (sent one at a time).
            models.Index(fields=["channel", "id"], condition=Q(status__in=["pending", "sending"]),
                         name="channel_delivery_queue"),
            # The admin's recent deliveries of one channel.
            models.Index(fields=["channel", "-created_at"], name="channel_delivery_recent"),
        ]

    def __str__(self):
        return f"{self.event} → {self.channel_id}: {self.status}"
