"""No value in a change, a payload or a document stops the routing of later changes (docs/operations.md, Parked
changes): gate errors are the firing's, values are fitted to their columns, a change that still fails is parked and
replayable."""

from datetime import timedelta

import pytest
from django.core.management import call_command

from automation.columns import fit_key
from automation.engine.waiting.waits import wait_open
from automation.entities.delivery import route_change_event, sweep_undelivered
from automation.entities.registry import DerivedEvent, registry
from automation.models import ChangeEvent, DerivedTriggerEvent, Run, RunStatus, Wait, WindowHit
from automation.services.automations import automation_update
from automation.tests.engine_support import make_automation
from catalog.services import health_report, system_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

EVENT = "healthcheck.system_health_changed"


def report_and_route(system, status, message=""):
    health_report(system=system, status=status, message=message, actor="system")
    event = ChangeEvent.objects.order_by("-id").first()
    route_change_event(str(event.change_id))
    event.refresh_from_db()
    return event


def test_a_long_partition_key_is_hashed_and_the_next_change_still_routes(journal):
    """The issue's first finding: a 300-character message as the window's partition failed the routing
    transaction on PostgreSQL for ever (varchar 200), and every later change of the system waited behind it."""
    make_automation({"name": "flaps", "mode": "parallel", "triggers": [{"event": EVENT, "window": {
        "count": 1, "minutes": 10, "partition_by": "trigger.payload.message"}}],
        "actions": [{"action": "test.note", "config": {"text": "flap"}}]})
    system = system_create(name="api", actor="system")
    route_change_event(str(ChangeEvent.objects.order_by("-id").first().change_id))

    first = report_and_route(system, "degraded", message="m" * 300)
    second = report_and_route(system, "healthy", message="ok")

    assert first.routed_at is not None and second.routed_at is not None
    [long_key] = WindowHit.objects.exclude(partition_key="ok").values_list("partition_key", flat=True)
    assert long_key.startswith("sha256:") and len(long_key) == 71
    assert Run.objects.filter(status=RunStatus.PENDING).count() == 2  # one run per change


def test_a_condition_error_longer_than_the_reason_column_is_a_skipped_run(journal):
    make_automation({"name": "fmt", "triggers": [{"event": EVENT}],
                     "conditions": ["trigger.payload.message.format() == 'x'"],
                     "actions": [{"action": "test.note", "config": {"text": "x"}}]})
    system = system_create(name="api", actor="system")
    route_change_event(str(ChangeEvent.objects.order_by("-id").first().change_id))

    event = report_and_route(system, "degraded", message="{" + "k" * 900 + "}")

    assert event.routed_at is not None
    run = Run.objects.get()
    assert run.status == RunStatus.SKIPPED
    assert run.reason.startswith("conditions not met") and len(run.reason) == 500


@pytest.fixture
def poison_deriver():
    """A test-only deriver at the registry's edge: it raises for a health message "poison"."""
    def deriver(change):
        if (change.next or {}).get("message") == "poison":
            raise RuntimeError("poisoned change")
        return [DerivedEvent(event="test.never_listened", payload={}, context_key=None)]

    registry.derivers.setdefault("health", []).append(deriver)
    yield
    registry.derivers["health"].remove(deriver)


def test_a_poisoned_change_is_parked_and_the_entity_routes_on_in_order(journal, poison_deriver, settings):
    settings.CHECKSTACK_PARK_AFTER_ATTEMPTS = 2
    settings.CHECKSTACK_PARK_AFTER_SECONDS = 0
    make_automation({"name": "any", "triggers": [{"event": EVENT}],
                     "actions": [{"action": "test.note", "config": {"text": "x"}}]})
    system = system_create(name="api", actor="system")
    health_report(system=system, status="degraded", message="fine", actor="system")
    health_report(system=system, status="unhealthy", message="poison", actor="system")
    health_report(system=system, status="healthy", message="after", actor="system")
    good, poison, after = ChangeEvent.objects.filter(kind="health").order_by("id")

    route_change_event(str(after.change_id))  # the good head routes; the poison stops what follows it
    route_change_event(str(after.change_id))  # the poison is the head now: attempt 1, with what follows it
    route_change_event(str(after.change_id))  # attempt 2: the poison alone
    for event in (good, poison, after):
        event.refresh_from_db()
    assert good.routed_at is not None and after.routed_at is None
    # Spent after its failed attempt 2: parked at once with the error; what followed it waits for a next try.
    assert poison.routing_attempts == 2 and poison.parked_at is not None
    assert poison.last_routing_error == "RuntimeError: poisoned change"

    route_change_event(str(after.change_id))  # the parked change is passed over: the next change routes

    poison.refresh_from_db(), after.refresh_from_db()
    assert poison.parked_at is not None and poison.routed_at is None
    assert after.routed_at is not None
    sweep_undelivered(grace=timedelta(0))
    poison.refresh_from_db()
    assert poison.resend_after is None  # the sweeper passed it over
    assert good.routing_attempts == 1  # counted once, never blamed for the poison behind it


def test_a_change_behind_a_head_counted_by_another_worker_is_still_routed(journal):
    """Worker A counted its attempt on the head and has not locked it yet; worker B's message for a later
    change finds the head's count raised, so it routes the head alone first. It must then route its own
    change too: A routes only up to A's change, and nobody else may be coming for B's (before, it waited for
    the sweeper)."""
    from automation.entities.parking import attempt_count

    system = system_create(name="api", actor="system")
    for status in ("degraded", "unhealthy", "healthy"):
        health_report(system=system, status=status, actor="system")
    head, middle, last = ChangeEvent.objects.filter(kind="health").order_by("id")
    assert attempt_count(str(head.change_id)).head_id == head.pk  # A: counted, about to lock

    result = route_change_event(str(last.change_id))  # B

    assert result.routed == [str(head.change_id), str(middle.change_id), str(last.change_id)]
    assert not ChangeEvent.objects.filter(kind="health", routed_at=None).exists()
    assert DerivedTriggerEvent.objects.filter(change__kind="health").values("change").distinct().count() == 3


def test_a_replay_routes_a_parked_change_once_fixed_and_what_no_longer_holds_starts_nothing(journal, settings):
    """A `degraded` replayed after the system recovered opens nothing: recorded as "no longer holds"."""
    settings.CHECKSTACK_PARK_AFTER_ATTEMPTS = 1
    settings.CHECKSTACK_PARK_AFTER_SECONDS = 0
    system = system_create(name="api", actor="system")
    route_change_event(str(ChangeEvent.objects.order_by("-id").first().change_id))
    broken = {"name": "on-degraded", "triggers": [{"event": "healthcheck.system_degraded"}],
              "actions": [{"action": "test.note", "config": {"text": "x"}}]}
    automation = make_automation(broken)
    health_report(system=system, status="degraded", message="poison", actor="system")
    degraded = ChangeEvent.objects.order_by("-id").first()
    # Park it by hand, as the attempts would have: the replay is what this test is about.
    ChangeEvent.objects.filter(pk=degraded.pk).update(parked_at=degraded.occurred_at, routing_attempts=5)
    report_and_route(system, "healthy", message="ok")

    call_command("changes_replay", str(degraded.change_id))

    degraded.refresh_from_db()
    assert degraded.routed_at is not None and degraded.parked_at is None
    [run] = Run.objects.filter(automation=automation)
    assert run.status == RunStatus.SKIPPED and run.reason == "no longer holds"
    assert automation_update  # the automation needed no fix here; the fault test replays after one


def test_a_long_context_key_of_a_wait_is_fitted_as_the_trigger_events_key_it_must_match(journal):
    """A wait's key (from its run, from a trigger event's payload) is stored as routing stores the events it
    waits for: longer than its column failed the run's step on PostgreSQL; fitted otherwise, they would not meet."""
    make_automation({"name": "w", "triggers": [{"event": EVENT}],
                     "actions": [{"action": "test.note", "config": {"text": "x"}}]})
    system = system_create(name="api", actor="system")
    report_and_route(system, "degraded")
    run = Run.objects.get()
    long_key = "k" * 300

    wait = wait_open(run=run, path="0", iteration="", kind=Wait.Kind.TRIGGER, deadline=None,
                     event="test.event", context_key=long_key)

    wait.refresh_from_db()
    assert wait.context_key == fit_key(DerivedTriggerEvent, "context_key", long_key)
    assert wait.context_key.startswith("sha256:") and len(wait.context_key) == 64
    assert wait_open(run=run, path="0", iteration="", kind=Wait.Kind.TRIGGER, deadline=None,
                     event="test.event", context_key=long_key).pk == wait.pk
