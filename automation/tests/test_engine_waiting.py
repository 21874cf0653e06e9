"""Time and waiting: delay, wait_until, wait_for_trigger, with timers fired by hand (a controllable clock)."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from automation.engine.runs.runner import run_advance
from automation.engine.waiting.timers import timers_fire_due
from automation.entities.delivery import route_change_event
from automation.models import ChangeEvent, Run, RunStatus, Timer, Wait
from automation.services.runs import run_cancel, run_manual
from automation.tests.engine_support import make_automation
from catalog.services import health_report, system_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def note(text):
    return {"action": "test.note", "config": {"text": text}}


def start(actions, payload=None):
    automation = make_automation({"name": f"waiter-{uuid.uuid4().hex[:8]}",
                                  "triggers": [{"event": "automation.manual"}],
                                  "actions": actions})
    run = run_manual(automation=automation, actor="user:test", payload=payload or {})
    run_advance(run_id=run.pk)
    run.refresh_from_db()
    return run


def resume(run):
    run_advance(run_id=run.pk, resume=True)
    run.refresh_from_db()
    return run


def route_latest():
    route_change_event(str(ChangeEvent.objects.order_by("-id").first().change_id))


def later(seconds):
    return timezone.now() + timedelta(seconds=seconds)


def test_delay_is_a_timer_row_and_continues_when_it_fires(journal):
    run = start([note("before"), {"delay": {"minutes": 5}}, note("after")])
    assert run.status == RunStatus.WAITING
    timer = Timer.objects.get(kind=Timer.Kind.RESUME)
    assert timedelta(minutes=4, seconds=59) < timer.due_at - timezone.now() <= timedelta(minutes=5)

    assert timers_fire_due(now=later(60)) == 0
    assert timers_fire_due(now=later(301)) == 1
    assert timers_fire_due(now=later(301)) == 0  # fired once
    assert resume(run).status == RunStatus.SUCCEEDED
    assert journal.texts() == ["before", "after"]


def test_wait_until_already_true_continues_at_once(journal):
    system = system_create(name="api", actor="system")
    health_report(system=system, status="healthy", actor="system")
    run = start([{"wait_until": {"condition": f"state.health['{system.pk}'].status == 'healthy'"}}, note("go")])
    assert run.status == RunStatus.SUCCEEDED
    assert journal.texts() == ["go"]


def test_the_routing_task_continues_the_run_its_change_woke(journal):
    from automation.engine.runs.runner import route_and_start

    system = system_create(name="api", actor="system")
    health_report(system=system, status="unhealthy", actor="system")
    run = start([{"wait_until": {"condition": f"health.systems['{system.pk}'].status == 'healthy'"}},
                 note("healthy")])
    assert run.status == RunStatus.WAITING
    health_report(system=system, status="healthy", actor="system")
    route_and_start(str(ChangeEvent.objects.order_by("-id").first().change_id))
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED  # no resume message needed
    assert journal.texts() == ["healthy"]


def test_wait_until_is_woken_by_a_change_of_what_it_read_and_still_false_keeps_waiting(journal):
    system = system_create(name="api", actor="system")
    other = system_create(name="db", actor="system")
    health_report(system=system, status="unhealthy", actor="system")
    run = start([{"wait_until": {"condition": f"state.health['{system.pk}'].status == 'healthy'"}}, note("go")])
    assert run.status == RunStatus.WAITING
    assert list(Wait.objects.get().reads.values_list("kind", "entity_id")) == [("health", str(system.pk))]

    health_report(system=other, status="healthy", actor="system")  # unrelated: wakes nothing
    route_latest()
    health_report(system=system, status="degraded", actor="system")  # related, still false
    route_latest()
    assert resume(run).status == RunStatus.WAITING
    health_report(system=system, status="healthy", actor="system")
    route_latest()
    assert resume(run).status == RunStatus.SUCCEEDED
    assert journal.texts() == ["go"]


def test_a_wait_woken_many_times_while_still_false_keeps_waiting(journal):
    system = system_create(name="api", actor="system")
    health_report(system=system, status="unhealthy", actor="system")
    run = start([{"wait_until": {"condition": f"state.health['{system.pk}'].status == 'healthy'"}}, note("go")])
    for status in ["degraded", "unhealthy"] * 3:  # six wake-ups, each leaving it false
        health_report(system=system, status=status, actor="system")
        route_latest()
        assert resume(run).status == RunStatus.WAITING
    health_report(system=system, status="healthy", actor="system")
    route_latest()
    assert resume(run).status == RunStatus.SUCCEEDED
    assert run.steps.get(path="actions.0").attempts == 1


def test_wait_until_timeout_continues_or_fails(journal):
    system = system_create(name="api", actor="system")
    condition = f"state.system['{system.pk}'].name == 'never'"
    goes_on = start([{"wait_until": {"condition": condition, "timeout": {"seconds": 30}}},
                     note("timed out: {{ wait.timed_out }}")])
    stops = start([{"wait_until": {"condition": condition, "timeout": {"seconds": 30},
                                   "continue_on_timeout": False}}, note("never")])
    timers_fire_due(now=later(31))
    assert resume(goes_on).status == RunStatus.SUCCEEDED
    assert resume(stops).status == RunStatus.FAILED
    assert "timed out" in stops.error
    assert journal.texts() == ["timed out: True"]


def test_wait_for_trigger_resumes_with_the_event_payload(journal):
    from incidents.services import incident_create, incident_resolve

    system = system_create(name="api", actor="system")
    incident = incident_create(title="down", system_ids=[system.pk], actor="system")
    run = start([{"wait_for_trigger": {"event": "incident.resolved"}}, note("{{ resume.payload.status }}")],
                payload={"incident_id": str(incident.pk)})
    assert run.status == RunStatus.WAITING
    incident_resolve(incident=incident, actor="user:ann")
    route_latest()
    assert resume(run).status == RunStatus.SUCCEEDED
    assert journal.texts() == ["resolved"]


def test_wait_for_trigger_ignores_the_same_event_of_another_context(journal):
    from incidents.services import incident_create, incident_resolve

    system = system_create(name="api", actor="system")
    mine, other = (incident_create(title=t, system_ids=[system.pk], actor="system") for t in ("mine", "other"))
    run = start([{"wait_for_trigger": {"event": "incident.resolved"}}, note("{{ resume.payload.incident_id }}")],
                payload={"incident_id": str(mine.pk)})
    incident_resolve(incident=other, actor="user:ann")
    route_latest()
    assert Wait.objects.get().outcome is None
    incident_resolve(incident=mine, actor="user:ann")
    route_latest()
    assert resume(run).status == RunStatus.SUCCEEDED
    assert journal.texts() == [str(mine.pk)]


def test_a_cancelled_waiting_run_is_not_resumed_by_its_event(journal):
    from incidents.services import incident_create, incident_resolve

    system = system_create(name="api", actor="system")
    incident = incident_create(title="down", system_ids=[system.pk], actor="system")
    run = start([{"wait_for_trigger": {"event": "incident.resolved"}}, note("never")],
                payload={"incident_id": str(incident.pk)})
    run_cancel(run=run, actor="user:ann")
    incident_resolve(incident=incident, actor="user:ann")
    route_latest()
    assert Wait.objects.get().outcome is None
    assert resume(run).status == RunStatus.CANCELLED
    assert journal.texts() == []
    assert Run.objects.get().status == RunStatus.CANCELLED


def test_a_waiting_run_whose_resume_message_was_lost_is_recovered(journal, settings, monkeypatch):
    from automation.engine.runs import recovery as lifecycle

    settings.CHECKSTACK_OUTBOX_GRACE_SECONDS = 0
    run = start([{"delay": {"seconds": 1}}, note("after")])
    timers_fire_due(now=later(2))  # the wait ends; its resume message goes nowhere (no worker here)
    sent = []
    monkeypatch.setattr(lifecycle, "send_wakeup", lambda task, *args: sent.append((task.name, args)) or True)
    assert lifecycle.recover_stalled_runs() == 1
    assert sent == [("checkstack.resume_run", (str(run.pk),))]
    assert resume(run).status == RunStatus.SUCCEEDED
    monkeypatch.undo()
    sent.clear()
    monkeypatch.setattr(lifecycle, "send_wakeup", lambda task, *args: sent.append((task.name, args)) or True)
    lifecycle.recover_stalled_runs()
    assert sent == []  # finished: nothing to recover


def test_the_routing_probe_says_which_kinds_of_waiting_a_change_may_concern(journal):
    from types import SimpleNamespace

    from automation.engine.firing.routing import waiting_on

    system = system_create(name="api", actor="system")
    other = system_create(name="db", actor="system")
    health_report(system=system, status="unhealthy", actor="system")

    def probe(entity, events=("incident.resolved",)):
        return waiting_on(SimpleNamespace(kind="health", entity_id=str(entity.pk)), list(events))

    assert probe(system) == (False, False, False)
    start([{"wait_until": {"condition": f"state.health['{system.pk}'].status == 'healthy'"}}])
    assert probe(system) == (True, False, False)
    assert probe(other) == (False, False, False)
    start([{"wait_for_trigger": {"event": "incident.resolved"}}])
    assert probe(other) == (False, False, True)
    assert probe(other, events=["incident.updated"]) == (False, False, False)
    make_automation({"name": "dwelling", "triggers": [{"event": "healthcheck.system_degraded", "for": {"minutes": 5}}],
                     "actions": [note("held")]})
    health_report(system=other, status="degraded", actor="system")
    route_latest()
    assert probe(other, events=[]) == (False, True, False)
