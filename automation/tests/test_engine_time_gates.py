"""Dwells, windows and schedules, with the clock controlled by the test."""

import uuid
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.utils import timezone

from automation.engine.firing.dwell_deadlines import dwell_fire
from automation.engine.firing.schedules import latest_tick, schedules_fire
from automation.engine.waiting.timers import timers_fire_due
from automation.entities.delivery import route_change_event
from automation.models import ChangeEvent, Dwell, Run, RunStatus, Timer, WindowHit
from automation.tests.engine_support import make_automation
from catalog.services import health_report, system_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def report(system, status):
    health_report(system=system, status=status, actor="system")
    route_change_event(str(ChangeEvent.objects.order_by("-id").first().change_id))


def log_step():
    return [{"action": "automation.log", "config": {"message": "fired"}}]


def dwelling(minutes=5, **trigger):
    return make_automation({"name": f"dwell-{uuid.uuid4().hex[:6]}", "concurrency_scope": "context_key",
                            "triggers": [{"event": "healthcheck.system_degraded", "for": {"minutes": minutes},
                                          **trigger}], "actions": log_step()})


def test_dwell_arms_once_and_keeps_its_first_deadline(journal):
    dwelling()
    system = system_create(name="api", actor="system")
    report(system, "degraded")
    first = Dwell.objects.get()
    report(system, "unhealthy")  # degraded → unhealthy fires system_degraded again: still holds
    assert Dwell.objects.get().deadline == first.deadline
    assert Timer.objects.filter(kind=Timer.Kind.DWELL).count() == 1
    assert Run.objects.count() == 0

    assert timers_fire_due(now=first.deadline - timedelta(seconds=1)) == 0
    timers_fire_due(now=first.deadline + timedelta(seconds=1))
    [run] = Run.objects.all()
    assert (run.status, run.context_key) == (RunStatus.PENDING, str(system.pk))
    assert not Dwell.objects.exists()


def test_a_break_cancels_the_dwell_and_a_return_starts_a_new_deadline(journal):
    dwelling()
    system = system_create(name="api", actor="system")
    report(system, "degraded")
    first_deadline = Dwell.objects.get().deadline
    report(system, "healthy")
    assert not Dwell.objects.exists()
    report(system, "degraded")
    second = Dwell.objects.get()
    assert second.deadline > first_deadline
    # The first dwell's timer went with it; only the new deadline is pending.
    assert list(Timer.objects.filter(kind=Timer.Kind.DWELL).values_list("due_at", flat=True)) == [second.deadline]


def test_a_dwell_broken_while_routing_was_down_does_not_fire(journal):
    dwelling()
    system = system_create(name="api", actor="system")
    report(system, "degraded")
    dwell = Dwell.objects.get()
    # The system recovers, but nothing routes the change (workers down): only the log knows.
    health_report(system=system, status="healthy", actor="system")
    dwell_fire(dwell_id=dwell.pk)
    assert Run.objects.count() == 0
    assert not Dwell.objects.exists()


def test_dwell_filter_on_the_new_state_breaks_it(journal):
    dwelling(filter="trigger.payload.new_status == 'unhealthy'")
    system = system_create(name="api", actor="system")
    report(system, "unhealthy")
    assert Dwell.objects.count() == 1
    report(system, "degraded")  # still degraded-or-unhealthy, but the filter no longer holds
    assert Dwell.objects.count() == 0


def windowed(refire, partition_by=None):
    window = {"count": 3, "minutes": 10, "refire": refire}
    if partition_by:
        window["partition_by"] = partition_by
    return make_automation({"name": f"flap-{refire}-{uuid.uuid4().hex[:4]}", "mode": "parallel",
                            "triggers": [{"event": "healthcheck.system_health_changed", "window": window}],
                            "actions": log_step()})


def flap(system, times):
    for i in range(times):
        report(system, "degraded" if i % 2 == 0 else "healthy")


def test_window_every_fires_from_the_count_th_occurrence_on(journal):
    automation = windowed("every")
    system = system_create(name="api", actor="system")
    flap(system, 5)
    statuses = list(Run.objects.filter(automation=automation).order_by("created_at").values_list("status", flat=True))
    # A firing the window holds writes only its count (docs/automations.md, Triggers): five hits, three runs, no
    # skipped run.
    assert statuses == ["pending", "pending", "pending"]
    assert WindowHit.objects.filter(automation=automation).count() == 5


def test_window_once_fires_only_at_the_count_th(journal):
    automation = windowed("once")
    system = system_create(name="api", actor="system")
    flap(system, 5)
    statuses = list(Run.objects.filter(automation=automation).order_by("created_at").values_list("status", flat=True))
    assert statuses == ["pending"]
    assert WindowHit.objects.filter(automation=automation).count() == 5


def test_window_counts_per_partition_with_the_context_key_as_fallback(journal):
    by_system = windowed("every")
    by_nothing = windowed("every", partition_by="trigger.payload.no_such_key")
    a, b = system_create(name="a", actor="system"), system_create(name="b", actor="system")
    flap(a, 2)
    flap(b, 2)
    # Four occurrences, but two per system: no partition reached 3.
    assert not Run.objects.filter(automation__in=[by_system, by_nothing], status="pending").exists()
    assert set(WindowHit.objects.filter(automation=by_nothing).values_list("partition_key", flat=True)) == {
        str(a.pk), str(b.pk)}


def test_window_prunes_hits_that_fell_out_of_the_window(journal):
    automation = windowed("every")
    system = system_create(name="api", actor="system")
    flap(system, 2)
    WindowHit.objects.filter(automation=automation).update(at=timezone.now() - timedelta(minutes=11))
    flap(system, 1)
    assert WindowHit.objects.filter(automation=automation).count() == 1
    assert not Run.objects.filter(automation=automation, status="pending").exists()


def test_interval_schedule_fires_its_own_automation_once_per_tick(journal):
    scheduled = make_automation({"name": "every-minute", "triggers": [
        {"event": "automation.interval", "config": {"seconds": 60}}], "actions": log_step()})
    other = make_automation({"name": "other", "triggers": [{"event": "catalog.system_created"}],
                             "actions": log_step()})
    later = timezone.now() + timedelta(minutes=2)
    assert schedules_fire(now=later) == 1
    assert schedules_fire(now=later) == 0  # the same tick again: nothing
    assert schedules_fire(now=later + timedelta(seconds=60)) == 1
    assert Run.objects.filter(automation=scheduled).count() == 2
    assert not Run.objects.filter(automation=other).exists()


def test_cron_ticks_in_its_time_zone():
    trigger = {"event": "automation.cron", "config": {"cron": "0 9 * * *", "timezone": "Europe/Paris"}}
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert latest_tick(trigger, now).isoformat() == "2026-11-22T08:00:00+00:00"


def test_a_schedule_edited_later_does_not_fire_ticks_from_before_the_edit(journal):
    make_automation({"name": "fresh", "triggers": [
        {"event": "automation.interval", "config": {"seconds": 3600}}], "actions": log_step()})
    with mock.patch("automation.engine.firing.schedules.latest_tick",
                    return_value=timezone.now() - timedelta(hours=2)):
        assert schedules_fire() == 0
