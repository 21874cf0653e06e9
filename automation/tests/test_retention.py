"""The retention purge: what goes after its kind's setting, and what is never purged whatever the settings."""

import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from automation.models import (
    Artifact,
    ChangeEvent,
    DerivedTriggerEvent,
    Dwell,
    Run,
    RunStep,
    SubscriptionDelivery,
    Timer,
    Transition,
    Wait,
    WaitRead,
    WindowHit,
)
from automation.retention import purge_expired
from automation.tests.engine_support import make_automation

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NOW = timezone.now()
DAY = timedelta(days=1)


@pytest.fixture
def automation():
    return make_automation({"name": f"r-{uuid.uuid4().hex[:8]}", "triggers": [{"event": "automation.manual"}],
                            "actions": [{"action": "automation.log", "config": {"message": "x"}}]})


def a_run(automation, *, status="succeeded", finished_ago=timedelta(days=40), steps=2) -> Run:
    run = Run.objects.create(automation=automation, automation_version=1, document={}, trigger_id="t", event="e",
                             actor="user:test", bucket=str(automation.pk), status=status,
                             finished_at=None if status in ("pending", "running", "waiting") else NOW - finished_ago)
    for i in range(steps):
        RunStep.objects.create(run=run, path=f"actions.{i}", kind="action", status="succeeded")
    return run


def a_change(*, ago=timedelta(days=40), routed=True, entity_id="s1") -> ChangeEvent:
    at = NOW - ago
    return ChangeEvent.objects.create(kind="system", entity_id=entity_id, actor="user:test", occurred_at=at,
                                      routed_at=at if routed else None)


def a_transition(*, ago, entity_id="s1", field="status", value="x") -> Transition:
    return Transition.objects.create(kind="health", entity_id=entity_id, field=field, to_value=value,
                                     at=NOW - ago, actor="user:test", change_id=uuid.uuid4())


def purge(**kwargs):
    return purge_expired(now=NOW, **kwargs)


# --- runs -------------------------------------------------------------------------------------------------

def test_ended_runs_past_retention_go_with_their_steps_waits_and_closed_artifacts(automation):
    old = a_run(automation)
    wait = Wait.objects.create(run=old, path="actions.1", kind="delay", outcome={"completed": True})
    WaitRead.objects.create(wait=wait, kind="system", entity_id="s1")
    Artifact.objects.create(run=old, automation=automation, type="thing", step_id="a", closed_at=NOW - 35 * DAY)
    recent = a_run(automation, finished_ago=29 * DAY)

    result = purge()

    assert result.deleted["runs"] == 1 and result.finished
    assert list(Run.objects.values_list("pk", flat=True)) == [recent.pk]
    assert set(RunStep.objects.values_list("run_id", flat=True)) == {recent.pk}
    assert (Wait.objects.count(), WaitRead.objects.count(), Artifact.objects.count()) == (0, 0, 0)


@pytest.mark.parametrize("status", ["pending", "running", "waiting"])
def test_runs_not_ended_are_never_purged(automation, status, settings):
    settings.CHECKSTACK_RETAIN_RUNS_DAYS = 1
    run = a_run(automation, status=status)
    Run.objects.filter(pk=run.pk).update(created_at=NOW - 400 * DAY)

    purge()

    assert Run.objects.filter(pk=run.pk).exists() and RunStep.objects.filter(run=run).count() == 2


def test_an_ended_run_holding_an_open_artifact_is_kept_with_its_steps(automation, settings):
    settings.CHECKSTACK_RETAIN_RUNS_DAYS = 1
    run = a_run(automation, finished_ago=400 * DAY)
    artifact = Artifact.objects.create(run=run, automation=automation, type="thing", step_id="a")

    purge()

    assert Artifact.objects.filter(pk=artifact.pk, run=run).exists()
    assert RunStep.objects.filter(run=run).count() == 2


def test_fired_timers_past_retention_go_and_unfired_ones_stay():
    fired = Timer.objects.create(kind="resume", owner="1", due_at=NOW - 40 * DAY, fired_at=NOW - 40 * DAY)
    unfired = Timer.objects.create(kind="resume", owner="2", due_at=NOW - 400 * DAY)

    purge()

    assert not Timer.objects.filter(pk=fired.pk).exists() and Timer.objects.filter(pk=unfired.pk).exists()


# --- change events ----------------------------------------------------------------------------------------

def test_routed_changes_past_retention_go_with_derived_events_and_done_deliveries():
    old, recent = a_change(), a_change(ago=29 * DAY)
    DerivedTriggerEvent.objects.create(change=old, event="system.updated")
    SubscriptionDelivery.objects.create(subscriber="x", change=old, delivered_at=NOW - 40 * DAY)

    assert purge().deleted["changes"] == 1

    assert list(ChangeEvent.objects.values_list("pk", flat=True)) == [recent.pk]
    assert (DerivedTriggerEvent.objects.count(), SubscriptionDelivery.objects.count()) == (0, 0)


def test_unrouted_changes_are_never_purged(settings):
    """Parked changes have no routed_at either: the same rule keeps them."""
    settings.CHECKSTACK_RETAIN_CHANGES_DAYS = 1
    unrouted = a_change(ago=400 * DAY, routed=False)

    purge()

    assert ChangeEvent.objects.filter(pk=unrouted.pk).exists()


def test_changes_with_a_pending_delivery_are_never_purged(settings):
    settings.CHECKSTACK_RETAIN_CHANGES_DAYS = 1
    change = a_change(ago=400 * DAY)
    delivery = SubscriptionDelivery.objects.create(subscriber="x", change=change, attempts=99)

    purge()

    assert SubscriptionDelivery.objects.filter(pk=delivery.pk, change=change).exists()


def test_changes_within_the_backtest_range_and_windows_reach_are_kept_whatever_the_setting(settings):
    settings.CHECKSTACK_RETAIN_CHANGES_DAYS = 1
    kept, gone = a_change(ago=6 * DAY + timedelta(hours=23)), a_change(ago=7 * DAY + timedelta(hours=1))

    purge()

    assert list(ChangeEvent.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not ChangeEvent.objects.filter(pk=gone.pk).exists()


def test_changes_after_the_oldest_armed_dwell_are_kept(automation, settings):
    settings.CHECKSTACK_RETAIN_CHANGES_DAYS = 1
    before, armed_at, after = a_change(ago=29 * DAY), a_change(ago=28 * DAY), a_change(ago=27 * DAY)
    Dwell.objects.create(automation=automation, trigger_id="t", context_key="s1", event="e", actor="a",
                         firing_key="f", armed_at=NOW - 28 * DAY, armed_after_change=armed_at.pk, deadline=NOW + DAY)

    purge()

    ours = ChangeEvent.objects.filter(pk__in=[before.pk, armed_at.pk, after.pk])
    assert list(ours.values_list("pk", flat=True)) == [after.pk]


# --- transitions ------------------------------------------------------------------------------------------

def test_superseded_transitions_past_retention_go_and_the_latest_of_each_field_stays(settings):
    settings.CHECKSTACK_RETAIN_TRANSITIONS_DAYS = 31
    gone = a_transition(ago=500 * DAY)
    latest = a_transition(ago=400 * DAY)  # the entity field's current value: "in status since" 400 days
    other_field_latest = a_transition(ago=500 * DAY, field="message")
    superseded_recently = [a_transition(ago=40 * DAY, entity_id="s2"), a_transition(ago=DAY, entity_id="s2")]

    purge()

    assert sorted(Transition.objects.values_list("pk", flat=True)) == sorted(
        [latest.pk, other_field_latest.pk, superseded_recently[1].pk])
    assert not Transition.objects.filter(pk__in=[gone.pk, superseded_recently[0].pk]).exists()


def test_transitions_within_the_longest_dwell_are_kept_whatever_the_setting(settings):
    settings.CHECKSTACK_RETAIN_TRANSITIONS_DAYS = 1
    kept, gone = a_transition(ago=29 * DAY), a_transition(ago=31 * DAY, value="y")
    a_transition(ago=DAY, value="z")

    purge()

    assert Transition.objects.filter(pk=kept.pk).exists() and not Transition.objects.filter(pk=gone.pk).exists()


def test_transitions_at_the_same_instant_keep_the_later_id(settings):
    first, second = a_transition(ago=400 * DAY), a_transition(ago=400 * DAY, value="y")

    purge()

    assert list(Transition.objects.values_list("pk", flat=True)) == [second.pk]
    assert first.pk < second.pk


# --- window hits, settings, batches -----------------------------------------------------------------------

def test_window_hits_older_than_the_longest_window_go(automation, settings):
    settings.CHECKSTACK_RETAIN_WINDOW_HITS_DAYS = 1
    kept = WindowHit.objects.create(automation=automation, trigger_id="t", partition_key="p",
                                    at=NOW - timedelta(minutes=1439))
    WindowHit.objects.create(automation=automation, trigger_id="t", partition_key="p", at=NOW - timedelta(minutes=1441))

    purge()

    assert list(WindowHit.objects.values_list("pk", flat=True)) == [kept.pk]


def test_a_setting_of_zero_keeps_the_kind_forever(automation, settings):
    settings.CHECKSTACK_RETAIN_RUNS_DAYS = 0
    settings.CHECKSTACK_RETAIN_CHANGES_DAYS = 0
    run, change = a_run(automation, finished_ago=4000 * DAY), a_change(ago=4000 * DAY)

    result = purge()

    assert Run.objects.filter(pk=run.pk).exists() and ChangeEvent.objects.filter(pk=change.pk).exists()
    assert "runs" not in result.deleted and "changes" not in result.deleted


def test_the_purge_goes_in_batches_until_done(automation):
    for i in range(5):
        a_change(entity_id=f"s{i}")
        a_run(automation, steps=1)

    result = purge(batch=2)

    assert (result.deleted["changes"], result.deleted["runs"], result.finished) == (5, 5, True)
    assert (ChangeEvent.objects.filter(routed_at__isnull=False).count(), Run.objects.count(),
            RunStep.objects.count()) == (0, 0, 0)


def test_a_spent_time_budget_leaves_the_rest_to_the_next_tick(automation):
    a_change()

    result = purge(budget_seconds=0)

    assert (result.deleted, result.finished) == ({}, False)
    assert ChangeEvent.objects.filter(routed_at__isnull=False).count() == 1
    assert purge().deleted["changes"] == 1


def test_beat_runs_the_purge_off_the_routing_queue():
    from automation import tasks

    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "checkstack.purge_expired")
    assert entry["schedule"] > 0
    assert settings.CELERY_TASK_ROUTES["checkstack.purge_expired"] == {"queue": "checkstack.deliveries"}
    assert tasks.purge_expired.name == "checkstack.purge_expired"
