import secrets
import uuid

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from catalog.models import Group, System

from .topics import Topic


def new_subscriber_token() -> str:
    """A fresh secret for one of a subscriber's links (43 URL-safe characters)."""
    return secrets.token_urlsafe(32)


class Subscriber(models.Model):
    """A person who gets emails about incidents and maintenance of the systems they follow."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Lowercased by the services (the constraint holds them to it): one row per address however it is typed.
    email = models.EmailField(max_length=254, unique=True)
    # The link table keeps the name it had when subscribers lived in catalog (the move changed no table).
    systems = models.ManyToManyField(
        System, related_name="subscribers", blank=True, db_table="catalog_subscriber_systems"
    )
    # A group stands for every system in it, those added later included (resolved when a change is sent).
    groups = models.ManyToManyField(Group, related_name="subscribers", blank=True)
    confirmed = models.BooleanField(default=False)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # Secrets of the links, never shown by the API or the admin. Two, not one: the unsubscribe link is in
    # every notification (forwarded, quoted, archived), and it must not also confirm a pending request.
    # `token` is the confirm link's (its name kept: links already mailed carry it).
    token = models.CharField(max_length=64, unique=True, default=new_subscriber_token, editable=False)
    unsubscribe_token = models.CharField(max_length=64, unique=True, default=new_subscriber_token, editable=False)
    # Systems asked for on the public form: followed only once the address's owner confirms.
    requested_system_ids = models.JSONField(default=list, blank=True)
    requested_group_ids = models.JSONField(default=list, blank=True)
    # A confirmation email is owed while sent_at is null or older than requested_at (the sweeper re-sends).
    confirmation_requested_at = models.DateTimeField(null=True, blank=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # The table kept its name when subscribers moved here from catalog (a state-only migration).
        db_table = "catalog_subscriber"
        ordering = ["email"]
        constraints = [
            models.CheckConstraint(condition=Q(email=Lower("email")), name="subscriber_email_lowercase"),
        ]
        indexes = [
            # The notifications sweeper: confirmation emails owed.
            models.Index(
                fields=["confirmation_requested_at"],
                condition=Q(confirmation_requested_at__isnull=False),
                name="subscriber_confirmation_owed",
            ),
        ]

    def __str__(self):
        return self.email


class Notification(models.Model):
    """What one incident or maintenance change announced: the snapshot every email about it renders."""

    change_id = models.UUIDField(unique=True)
    kind = models.CharField(max_length=20)
    entity_id = models.CharField(max_length=64)
    topic = models.CharField(max_length=40, choices=Topic.choices)
    # Title, status, systems, message… as they were at the change, so a late retry says what happened then.
    context = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The retention purge: notifications older than the cutoff whose sends are all gone.
            models.Index(fields=["created_at"], name="notification_created"),
        ]

    def __str__(self):
        return f"{self.topic}: {self.context.get('title', self.entity_id)}"


class SendStatus(models.TextChoices):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"  # the subscriber was no longer confirmed when its turn came


class NotificationSend(models.Model):
    """One email owed to one subscriber about one change: the record that keeps a retry from sending twice."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="sends")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="notification_sends")
    status = models.CharField(max_length=10, choices=SendStatus.choices, default=SendStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # Not before: a send the mail server refused for now waits here (a row, not a Celery countdown).
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Set just before the message goes to the mail server: a lost worker with this set may have sent it.
    handed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One email per subscriber per change (a change has one Notification): the no-duplicate rule.
            models.UniqueConstraint(fields=["notification", "subscriber"], name="notification_send_once"),
            models.CheckConstraint(condition=Q(status__in=SendStatus.values), name="notification_send_status_valid"),
        ]
        indexes = [
            # The sweeper: pending sends that are due.
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="notification_send_due"),
            # The sweeper: claims whose worker may be lost.
            models.Index(fields=["claimed_at"], condition=Q(status="sending"), name="notification_send_claimed"),
            # The retention purge: finished sends older than the cutoff (pending and sending ones are kept).
            models.Index(fields=["created_at"], condition=Q(status__in=["sent", "failed", "skipped"]),
                         name="notification_send_done"),
        ]

    def __str__(self):
        return f"{self.notification_id} → {self.subscriber_id}: {self.status}"


from .channels.models import Channel, ChannelDelivery  # noqa: E402,F401 - models of the channels sub-package
