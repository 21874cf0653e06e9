"""/metrics as Prometheus reads it: parsed with prometheus_client, the figures of rows written here, the docs' list."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from automation.models import ChangeEvent, Run, Timer
from automation.tests.engine_support import make_automation
from catalog.services import system_create
from checks.models import CheckResult
from checks.tests.config_factories import make_check

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

OPERATIONS_DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
NOW = timezone.now()


def scrape() -> dict:
    """GET /metrics, parsed: {family name: {(sample name, labels as sorted tuple): value}}."""
    response = Client().get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return {family.name: {(s.name, tuple(sorted(s.labels.items()))): s.value for s in family.samples}
            for family in text_string_to_metric_families(response.content.decode())}


def buckets(families: dict, name: str) -> dict:
    """A histogram's cumulative counts by upper bound, with its _count and _sum."""
    samples = families[name]
    found = {dict(labels)["le"]: value for (sample, labels), value in samples.items() if sample == f"{name}_bucket"}
    return {**found, "count": samples[(f"{name}_count", ())], "sum": round(samples[(f"{name}_sum", ())], 3)}


def a_change(*, ago: timedelta, routed_after: timedelta | None = None, parked=False) -> ChangeEvent:
    at = NOW - ago
    return ChangeEvent.objects.create(kind="system", entity_id="s1", actor="user:test", occurred_at=at,
                                      routed_at=at + routed_after if routed_after is not None else None,
                                      parked_at=at if parked else None)


def an_ended_run(automation, *, firing_key, started_at, seconds: float) -> Run:
    return Run.objects.create(automation=automation, automation_version=1, document={}, trigger_id="t", event="e",
                              actor="user:test", bucket="b", status="succeeded", firing_key=firing_key,
                              started_at=started_at, finished_at=started_at + timedelta(seconds=seconds))


def test_gauges_count_pending_parked_runs_and_overdue_timers():
    system_create(name="api", actor="system")  # one change, committed and not routed
    a_change(ago=timedelta(minutes=5), parked=True)
    Timer.objects.create(kind="resume", owner="x", due_at=timezone.now() - timedelta(seconds=30))

    families = scrape()

    assert families["checkstack_change_events_pending"] == {("checkstack_change_events_pending", ()): 1}
    assert families["checkstack_changes_parked"] == {("checkstack_changes_parked", ()): 1}
    assert families["checkstack_change_events"][("checkstack_change_events_total", ())] == \
        ChangeEvent.objects.order_by("-id").first().id
    assert families["checkstack_runs"][("checkstack_runs", (("status", "pending"),))] == 0
    assert families["checkstack_runs_ended_last_hour"][("checkstack_runs_ended_last_hour", (("status", "failed"),))] \
        == 0
    assert families["checkstack_timers_due"] == {("checkstack_timers_due", ()): 1}
    assert families["checkstack_timers_overdue_seconds"][("checkstack_timers_overdue_seconds", ())] >= 30


def test_the_routing_delay_histogram_buckets_the_last_hours_routed_changes():
    for after in (0.2, 3, 40):
        a_change(ago=timedelta(minutes=10), routed_after=timedelta(seconds=after))
    a_change(ago=timedelta(hours=2), routed_after=timedelta(seconds=1))  # outside the hour
    a_change(ago=timedelta(minutes=1))  # not routed yet: the lag gauge's, not the histogram's

    histogram = buckets(scrape(), "checkstack_routing_delay_seconds")

    assert (histogram["0.1"], histogram["0.25"], histogram["2.5"], histogram["5.0"], histogram["30.0"],
            histogram["60.0"], histogram["+Inf"]) == (0, 1, 1, 2, 2, 3, 3)
    assert (histogram["count"], histogram["sum"]) == (3, 43.2)


def test_run_and_commit_to_first_action_histograms_read_the_last_hours_ended_runs():
    automation = make_automation({"name": "m", "triggers": [{"event": "automation.manual"}],
                                  "actions": [{"action": "automation.log", "config": {"message": "x"}}]})
    change = a_change(ago=timedelta(minutes=10), routed_after=timedelta(seconds=0.1))
    an_ended_run(automation, firing_key=str(change.change_id), started_at=change.occurred_at + timedelta(seconds=0.4),
                 seconds=2)
    an_ended_run(automation, firing_key="tick:2026-01-01T00:00:00Z", started_at=NOW - timedelta(minutes=3), seconds=7)
    an_ended_run(automation, firing_key=None, started_at=NOW - timedelta(minutes=2), seconds=0.05)
    an_ended_run(automation, firing_key=None, started_at=NOW - timedelta(hours=3), seconds=1)  # outside the hour

    families = scrape()

    first_action = buckets(families, "checkstack_commit_to_first_action_seconds")
    assert (first_action["0.25"], first_action["0.5"], first_action["+Inf"], first_action["sum"]) == (0, 1, 1, 0.4)
    duration = buckets(families, "checkstack_run_duration_seconds")
    assert (duration["0.1"], duration["1.0"], duration["5.0"], duration["10.0"], duration["count"], duration["sum"]) \
        == (1, 1, 2, 3, 3, 9.05)


def test_the_check_latency_histogram_reads_the_last_hours_results_in_seconds():
    check = make_check()
    for minutes, latency in ((1, 80), (2, 1500), (3, None), (90, 10)):
        CheckResult.objects.create(check_ref=check, at=NOW - timedelta(minutes=minutes), ok=True, latency_ms=latency)

    histogram = buckets(scrape(), "checkstack_check_latency_seconds")

    assert (histogram["0.05"], histogram["0.1"], histogram["1.0"], histogram["2.5"], histogram["count"],
            histogram["sum"]) == (0, 1, 1, 2, 2, 1.58)


def documented_metric_names() -> set[str]:
    """The first cell of every row of the table under docs/operations.md's `### /metrics` heading."""
    section = OPERATIONS_DOC.read_text().split("### `/metrics`", 1)[1].split("\n#", 1)[0]
    return {re.sub(r"\{.*\}", "", cell) for cell in re.findall(r"^\| `([a-z_]+(?:\{[^}]*\})?)` \|", section, re.M)}


def emitted_metric_names() -> set[str]:
    """Family names as an operator queries them: a counter with its `_total`."""
    response = Client().get("/metrics", REMOTE_ADDR="127.0.0.1")
    return {family.name + ("_total" if family.type == "counter" else "")
            for family in text_string_to_metric_families(response.content.decode())}


def test_the_metrics_emitted_are_exactly_the_ones_the_operations_doc_lists():
    documented = documented_metric_names()
    assert {"checkstack_changes_parked", "checkstack_runs", "checkstack_run_duration_seconds"} <= documented  # saw it
    assert emitted_metric_names() == documented
