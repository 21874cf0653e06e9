"""The entity change log: field transitions, change events (the outbox) and what routing made of them."""

import uuid

from django.db import models
from django.db.models import Q


class Transition(models.Model):
    """One field of one entity changing value; append-only."""

    kind = models.CharField(max_length=40)
    entity_id = models.CharField(max_length=64)
    field = models.CharField(max_length=64)
    from_value = models.JSONField(null=True)
    to_value = models.JSONField(null=True)
    at = models.DateTimeField()
    actor = models.CharField(max_length=200)
    change_id = models.UUIDField()

    class Meta:
        ordering = ["-id"]
        indexes = [
            # in_state_since / transition_count / the history of one entity, newest first.
            models.Index(fields=["kind", "entity_id", "field", "at"], name="transition_entity_field_at"),
            models.Index(fields=["change_id"], name="transition_change"),
            # The retention purge (automation/retention.py): transitions older than the cutoff, oldest first.
            models.Index(fields=["at"], name="transition_at"),
        ]

    def __str__(self):
        return f"{self.kind}:{self.entity_id} {self.field} {self.from_value!r} → {self.to_value!r}"


class ChangeEvent(models.Model):
    """One committed change of an entity, written with the change; routed once after commit (the outbox).

    `id` orders events: an entity's row is locked while its change is written, so per entity the id
    order is the commit order.
    """

    change_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=40)
    entity_id = models.CharField(max_length=64)
    prev = models.JSONField(null=True)
    next = models.JSONField(null=True)
    delta = models.JSONField(default=dict)
    changed_fields = models.JSONField(default=list)
    actor = models.CharField(max_length=200)
    depth = models.PositiveIntegerField(default=0)
    occurred_at = models.DateTimeField()
    routed_at = models.DateTimeField(null=True, blank=True)
    # Set by the sweeper when it re-sends the wake-up: not again before then (see sweep_undelivered).
    resend_after = models.DateTimeField(null=True, blank=True)
    # Parking (entities/parking.py): attempts are counted, committed, before each routing attempt of the
    # entity's head event, so an attempt that kills its worker counts too. A parked event is skipped by the
    # sweeper and by routing (the entity's later events route on) until an operator replays it.
    # Database defaults: the change log inserts its rows with its own column list (change_log.py).
    routing_attempts = models.PositiveIntegerField(default=0, db_default=0)
    first_attempted_at = models.DateTimeField(null=True, blank=True)
    last_routing_error = models.TextField(blank=True, default="", db_default="")
    parked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        permissions = [("replay_changeevent", "Can replay a parked change event")]
        indexes = [
            # The sweeper's scan for events left unrouted.
            models.Index(fields=["occurred_at"], condition=Q(routed_at__isnull=True), name="change_unrouted"),
            # Routing takes an entity's unrouted events in order.
            models.Index(fields=["kind", "entity_id", "id"], name="change_entity_order"),
            # The retention purge: routed events older than the cutoff (unrouted ones are never purged).
            models.Index(fields=["occurred_at"], condition=Q(routed_at__isnull=False), name="change_routed_at"),
        ]

    def __str__(self):
        return f"{self.kind}:{self.entity_id} {','.join(self.changed_fields) or 'deleted'}"

    @property
    def is_routed(self) -> bool:
        return self.routed_at is not None


class DerivedTriggerEvent(models.Model):
    """A trigger event a change deriver made of a routed change event."""

    change = models.ForeignKey(ChangeEvent, on_delete=models.CASCADE, related_name="trigger_events")
    event = models.CharField(max_length=100)
    payload = models.JSONField(default=dict)
    context_key = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 - NULL: no context
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["change", "event"], name="derived_event_once_per_change"),
        ]
        indexes = [models.Index(fields=["event", "context_key", "id"], name="derived_event_lookup")]

    def __str__(self):
        return f"{self.event} ({self.context_key})"


class SubscriptionDelivery(models.Model):
    """A change owed to a `work_queue` subscriber; done in the same transaction as the handler's work."""

    subscriber = models.CharField(max_length=100)
    change = models.ForeignKey(ChangeEvent, on_delete=models.CASCADE, related_name="deliveries")
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    resend_after = models.DateTimeField(null=True, blank=True)  # as ChangeEvent.resend_after

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "change"], name="delivery_once_per_change"),
        ]
        indexes = [
            models.Index(fields=["created_at"], condition=Q(delivered_at__isnull=True), name="delivery_pending"),
            # The retention purge: delivered rows older than the cutoff (pending ones are never purged).
            models.Index(fields=["delivered_at"], condition=Q(delivered_at__isnull=False), name="delivery_done"),
        ]

    def __str__(self):
        return f"{self.subscriber} ← {self.change_id}"
