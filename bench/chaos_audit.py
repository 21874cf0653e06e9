"""Guarantee 10 checked line by line once the chaos soak is quiet: from the database, the receivers' logs and
the clients' acknowledgements. Each check returns its figures; `lost` and `duplicated` (beyond what an
idempotency key absorbs) must be 0.
"""

from collections import Counter
from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from automation.builtins.email import message_id as email_message_id
from automation.models import (
    ACTIVE_STATUSES,
    Automation,
    ChangeEvent,
    DerivedTriggerEvent,
    Run,
    RunStatus,
    RunStep,
    SubscriptionDelivery,
    Timer,
)
from checkstack.tests.faults.invariants import transition_gaps
from incidents.models import Incident, IncidentStatus, IncidentUpdate
from maintenance.models import MaintenanceStatus, MaintenanceWindow
from notifications.channels.models import ChannelDelivery, DeliveryStatus
from notifications.models import Notification, NotificationSend, SendStatus
from notifications.sending import LOST_AFTER_HANDING

PENDING_SENDS = (SendStatus.PENDING, SendStatus.SENDING)
PENDING_DELIVERIES = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)


def quiet() -> dict:
    """What is still owed: unrouted changes and subscriber deliveries, active runs, unsent messages, overdue timers."""
    return {
        "unrouted": ChangeEvent.objects.filter(routed_at=None).count(),
        "undelivered": SubscriptionDelivery.objects.filter(delivered_at=None).count(),
        "active_runs": Run.objects.filter(status__in=ACTIVE_STATUSES).count(),
        "channel_unsent": ChannelDelivery.objects.filter(status__in=PENDING_DELIVERIES).count(),
        "emails_unsent": NotificationSend.objects.filter(status__in=PENDING_SENDS).count(),
        "timers_overdue": Timer.objects.filter(fired_at=None, due_at__lt=timezone.now() - timedelta(seconds=5)).count(),
    }


def acknowledged_writes(acks: list[tuple[str, str]]) -> dict:
    """Every write a client saw acknowledged is stored, once (a write is found by its id or its unique message)."""
    health = Counter(ChangeEvent.objects.filter(kind="health").values_list("next__message", flat=True))
    created = Counter(ChangeEvent.objects.filter(kind__in=["incident", "maintenance"], prev__isnull=True)
                      .values_list("entity_id", flat=True))
    updates = Counter(IncidentUpdate.objects.values_list("message", flat=True))
    resolved = {str(pk) for pk in Incident.objects.filter(status=IncidentStatus.RESOLVED).values_list("pk", flat=True)}
    completed = {str(pk) for pk in MaintenanceWindow.objects.filter(status=MaintenanceStatus.COMPLETED)
                 .values_list("pk", flat=True)}
    stored = {  # how many times each acknowledged write is in the database
        "health": lambda key: health[key],
        "incident_create": lambda key: created[key],
        "incident_update": lambda key: updates[key],
        "incident_resolve": lambda key: int(key in resolved),
        "maintenance_create": lambda key: created[key],
        "maintenance_close": lambda key: int(key in completed),
    }
    counts = [(what, key, stored[what](key)) for what, key in acks]
    return {"acknowledged": len(acks), "present": sum(1 for *_, n in counts if n),
            "lost": sum(1 for *_, n in counts if n == 0), "duplicated": sum(n - 1 for *_, n in counts if n > 1),
            "by_kind": dict(Counter(what for what, _ in acks)),
            "lost_by_kind": dict(Counter(what for what, _, n in counts if n == 0)),
            "examples": [f"{what} {key}" for what, key, n in counts if n != 1][:5]}


def _created() -> Q:
    """The changes that created an incident or a maintenance window."""
    return Q(kind__in=["incident", "maintenance"], prev__isnull=True)


def _unplanned(change_ids: set, planned) -> int:
    """How many of these changes have no row in `planned` (a queryset of change ids)."""
    return len(change_ids - set(planned))


def routing() -> dict:
    """Every change routed exactly once: routed, one derived event per (change, event), each subscriber once;
    and the history whole (each transition starts where the entity's previous one ended)."""
    derived_twice = DerivedTriggerEvent.objects.values("change", "event").annotate(n=Count("id")).filter(n__gt=1)
    delivered_twice = SubscriptionDelivery.objects.values("subscriber", "change").annotate(n=Count("id")) \
        .filter(n__gt=1)
    # Changes the derivers must turn into an event: a health status change, an incident's or a window's creation.
    wanted = ChangeEvent.objects.filter(Q(kind="health", changed_fields__contains=["status"]) | _created())
    without_event = wanted.exclude(trigger_events__event__in=["healthcheck.system_health_changed",
                                                              "incident.created", "maintenance.created"]).count()
    return {"changes": ChangeEvent.objects.count(), "transition_gaps": len(transition_gaps()),
            "routed": ChangeEvent.objects.exclude(routed_at=None).count(),
            "unrouted": ChangeEvent.objects.filter(routed_at=None).count(),
            "parked": ChangeEvent.objects.exclude(parked_at=None).count(),
            "derived_events": DerivedTriggerEvent.objects.count(),
            "lost": ChangeEvent.objects.filter(routed_at=None).count() + without_event + len(transition_gaps())
            + SubscriptionDelivery.objects.filter(delivered_at=None).count(),
            "duplicated": sum(r["n"] - 1 for r in derived_twice) + sum(r["n"] - 1 for r in delivered_twice)}


def runs_per_firing(names: list[str]) -> dict:
    """Each firing of each automation gave exactly one run, and every run ended (succeeded)."""
    figures = {"firings": 0, "runs": 0, "lost": 0, "duplicated": 0, "not_succeeded": 0, "active": 0}
    for automation in Automation.objects.filter(name__in=names).prefetch_related("trigger_index"):
        events = [trigger.event for trigger in automation.trigger_index.all()]
        firings = {str(c) for c in DerivedTriggerEvent.objects.filter(event__in=events)
                   .values_list("change__change_id", flat=True)}
        runs = Counter(Run.objects.filter(automation=automation).values_list("firing_key", flat=True))
        figures["firings"] += len(firings)
        figures["runs"] += sum(runs.values())
        figures["lost"] += len(firings - set(runs))
        figures["duplicated"] += sum(n - 1 for n in runs.values() if n > 1) + len(set(runs) - firings)
        figures["not_succeeded"] += Run.objects.filter(automation=automation).exclude(status=RunStatus.SUCCEEDED) \
            .count()
        figures["active"] += Run.objects.filter(automation=automation, status__in=ACTIVE_STATUSES).count()
    # A run that did not succeed did not deliver its side effect: under chaos that is a loss (bounded retries
    # ran out), not an outcome the clients asked for.
    figures["lost"] += figures["not_succeeded"]
    figures["runs_per_firing"] = round(figures["runs"] / figures["firings"], 3) if figures["firings"] else None
    return figures


def _step_keys(automation_name: str) -> set[str]:
    """The idempotency keys of the action steps of this automation's succeeded runs."""
    steps = RunStep.objects.filter(run__automation__name=automation_name, run__status=RunStatus.SUCCEEDED,
                                   kind="action")
    return {f"{run_id}:{path}:{iteration or '0'}" for run_id, path, iteration
            in steps.values_list("run_id", "path", "iteration")}


def side_effects(expected: set[str], received: list[str]) -> dict:
    """Each expected key arrived; repeats of a key are absorbed by it; a key nobody expected is a duplicate."""
    seen = Counter(received)
    return {"expected": len(expected), "keys_received": len(set(seen) & expected),
            "lost": len(expected - set(seen)), "absorbed_repeats": sum(n - 1 for k, n in seen.items() if k in expected),
            "duplicated": sum(n for k, n in seen.items() if k not in expected),
            "examples": sorted(expected - set(seen))[:3] + sorted(set(seen) - expected)[:3]}


def automation_side_effects(hooks: list[str], mails: list[str], notifies: list[str]) -> dict:
    """The webhook, email and channel-post actions: one delivery per step's idempotency key."""
    return {
        "webhook": side_effects(_step_keys("chaos-webhook"), hooks),
        "email": side_effects({email_message_id(k) for k in _step_keys("chaos-email")},
                              [m for m in mails if m and m.endswith("@checkstack.automation>")]),
        "notify": side_effects({f"msg_run_{k}"[:200] for k in _step_keys("chaos-notify")}, notifies),
    }


def channel_messages(channel_name: str, received: list[str]) -> dict:
    """Every message planned for the channel was sent and arrived once per webhook-id; each change planned once."""
    rows = ChannelDelivery.objects.filter(channel__name=channel_name)
    figures = side_effects(set(rows.values_list("message_id", flat=True)), received)
    figures["not_sent"] = rows.exclude(status=DeliveryStatus.SENT).count()
    figures["statuses"] = dict(Counter(rows.values_list("status", flat=True)))
    figures["lost"] += figures["not_sent"]
    figures["duplicated"] += sum(r["n"] - 1 for r in rows.values("change_id").annotate(n=Count("id"))
                                 .filter(n__gt=1))
    # Each health status change and each creation (channel events the channel wants) must have been planned.
    wanted = set(ChangeEvent.objects.filter(Q(kind="health", changed_fields__contains=["status"]) | _created())
                 .values_list("change_id", flat=True))
    figures["changes_unplanned"] = _unplanned(wanted, rows.values_list("change_id", flat=True))
    figures["lost"] += figures["changes_unplanned"]
    return figures


def subscriber_emails(received: list[str]) -> dict:
    """Each notification send reached the SMTP receiver, once, under its Message-ID."""
    sends = NotificationSend.objects.values_list("notification__change_id", "subscriber_id", "status", "last_error")
    key = "notification.{}.{}".format
    expected = {key(change, subscriber) for change, subscriber, *_ in sends}
    ids = [m.strip("<>").split("@")[0] for m in received if m and m.startswith("<notification.")]
    figures = side_effects(expected, ids)
    # SMTP has no idempotency key a server honours, so a send whose worker died inside the SMTP exchange is
    # failed as "outcome unknown" and never re-sent (at most once, sending.py; an operator may retry it). When
    # the receiver's log shows it did not arrive, it is that rule's known cost, counted apart from `lost`: a
    # missing email from any other row is still lost.
    unknown = {key(change, subscriber) for change, subscriber, status, error in sends
               if status == SendStatus.FAILED and error == LOST_AFTER_HANDING} - set(ids)
    figures["outcome_unknown_not_arrived"] = len(unknown)
    figures["lost"] -= len(unknown)
    figures["statuses"] = dict(Counter(status for _, _, status, _ in sends))
    # Each creation of an incident or a window (on the subscriber's systems: all of them) must have a notification.
    created = set(ChangeEvent.objects.filter(_created()).values_list("change_id", flat=True))
    figures["changes_unplanned"] = _unplanned(created, Notification.objects.values_list("change_id", flat=True))
    figures["lost"] += figures["changes_unplanned"]
    return figures
