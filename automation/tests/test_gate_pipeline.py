"""One gate pipeline: the gates in their order, each asked of the caller's facts only when reached; routing
records the gate that stopped a firing on its skipped run, and why reads that, not the reason text."""

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from automation.engine.firing.gates import Bucket, Gate
from automation.engine.firing.pipeline import GateFacts, Judged, gates_judge
from automation.engine.firing.routing import route_trigger_event
from automation.models import Run, RunStatus
from automation.sql.rows import insert_instances
from automation.tests.engine_support import make_automation

LOG = [{"action": "automation.log", "config": {"message": "x"}}]


class Recording(GateFacts):
    """Facts that say what was asked of them, and decide as told."""

    def __init__(self, *, window_passes=True, bucket=None):
        self.asked, self.window_passes, self.bucket_ = [], window_passes, bucket or Bucket()

    def window(self, judged, key):
        self.asked.append(("window", key))
        return Gate("window", self.window_passes, "told")

    def dwell(self, judged, gate, seconds):
        self.asked.append(("dwell", seconds))
        return gate

    def bucket(self, judged):
        self.asked.append(("bucket", judged.mode))
        return self.bucket_


def judged(**trigger):
    return Judged(trigger={"id": "t", "event": "e", **trigger}, scope={"trigger": {"payload": {"up": False}}},
                  context_key="ctx", depth=0, at=timezone.now(), conditions=["trigger.payload.up"], mode="single")


def test_the_gates_run_in_order_and_stop_at_the_first_that_does_not_pass():
    facts = Recording(window_passes=False)
    verdict = gates_judge(judged(window={"count": 2, "minutes": 5}), facts)

    assert [gate.gate for gate in verdict.gates] == ["filter", "loop guard", "window"]
    assert verdict.stopped_by.gate == "window"
    assert facts.asked == [("window", "ctx")]  # dwell and bucket never asked: their gates were not reached


def test_every_gate_is_shown_when_asked_and_a_range_of_them_can_be_judged():
    facts = Recording(window_passes=False, bucket=Bucket(active=1))
    every = gates_judge(judged(window={"count": 2, "minutes": 5}), facts, all_gates=True)
    assert [(g.gate, g.passed) for g in every.gates] == [
        ("filter", True), ("loop guard", True), ("window", False), ("conditions", False), ("mode", False)]
    assert every.mode.gate.passed is False and facts.asked[-1] == ("bucket", "single")

    replayed = gates_judge(judged(**{"for": {"seconds": 30}}), GateFacts(), last="dwell")
    assert [g.gate for g in replayed.gates] == ["filter", "loop guard", "dwell"] and replayed.dwell_seconds == 30
    tail = gates_judge(judged(), GateFacts(), first="conditions")
    assert [g.gate for g in tail.gates] == ["conditions"] and tail.mode is None  # no bucket: mode not judged


def test_a_gate_that_raises_fails_as_that_gate():
    from automation.engine.firing.gates import GateFailed

    class Broken(GateFacts):
        def window(self, judged, key):
            raise MemoryError("too many")

    with pytest.raises(GateFailed, match="error in window: MemoryError: too many"):
        gates_judge(judged(window={"count": 2, "minutes": 5}), Broken())


def fire(automation, key, *, depth=0, up=False):
    return route_trigger_event(event="automation.manual", payload={"up": up}, context_key="c", firing_key=key,
                               actor="user:ann", depth=depth)


@pytest.mark.django_db
@pytest.mark.postgres
def test_routing_records_the_gate_that_stopped_each_skipped_run():
    automation = make_automation({"name": "a", "mode": "single",
                                  "triggers": [{"id": "t", "event": "automation.manual"}],
                                  "conditions": ["trigger.payload.up"], "actions": LOG})
    fire(automation, "deep", depth=99, up=True)
    fire(automation, "down")
    fire(automation, "up-1", up=True)
    fire(automation, "up-2", up=True)

    assert dict(Run.objects.values_list("firing_key", "stopped_by")) == {
        "deep": "loop guard", "down": "conditions", "up-1": "", "up-2": "mode"}
    assert dict(Run.objects.values_list("firing_key", "status"))["up-1"] == RunStatus.PENDING


@pytest.mark.django_db
@pytest.mark.postgres
def test_why_reads_the_recorded_gate_not_the_reason_text(admin_api):
    from automation.entities.delivery import route_change_event
    from automation.models import ChangeEvent
    from catalog.services import health_report, system_create

    automation = make_automation({
        "name": "w", "triggers": [{"id": "t", "event": "healthcheck.system_health_changed"}],
        "conditions": ["trigger.payload.new_status == 'unhealthy'"], "actions": LOG})
    system = system_create(name="api", actor="system")
    health_report(system=system, status="degraded", actor="system")
    route_change_event(str(ChangeEvent.objects.latest("id").change_id))
    Run.objects.filter(automation=automation).update(reason="filter-looking text")  # what parsing would misread

    response = admin_api.get(f"/api/v1/automations/{automation.pk}/why/", {"entity_id": str(system.pk)})
    [trigger] = response.json()["changes"][0]["events"][0]["triggers"]
    assert trigger["stopped_by"] == "conditions" and trigger["gates"][-1] == {
        "gate": "conditions", "passed": False, "detail": "filter-looking text"}


@pytest.mark.django_db
def test_the_migration_fills_stopped_by_from_the_reasons_routing_wrote_before():
    backfill = importlib.import_module("automation.migrations.0013_run_stopped_by").backfill
    automation = make_automation({"name": "m", "triggers": [{"id": "t", "event": "automation.manual"}],
                                  "actions": LOG})
    reasons = {"a": "automation loop", "b": "conditions not met: conditions.0: x", "c": "queue is full (mode queued)",
               "d": "error in window: boom", "e": "filter did not match", "f": "no longer holds",
               "g": "error in routing: ValueError: x", "h": "something else"}
    insert_instances([Run(automation=automation, automation_version=1, document={}, trigger_id="t", event="e",
                          actor="x", firing_key=key, bucket="b", status=RunStatus.SKIPPED, reason=reason,
                          finished_at=timezone.now() - timedelta(days=1)) for key, reason in reasons.items()])

    backfill(apps, None)

    assert dict(Run.objects.values_list("firing_key", "stopped_by")) == {
        "a": "loop guard", "b": "conditions", "c": "mode", "d": "window", "e": "filter", "f": "replay",
        "g": "routing", "h": "mode"}
