"""check.numeric_state: config, edge-triggered firing on entering the range, nothing for unwatched checks, and
simulate and why showing the watch as the trigger's filter."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pydantic import ValidationError

from automation.documents.validate import validate_document
from automation.engine.inspection.simulate import simulate
from automation.engine.inspection.why import why_fired
from automation.entities.delivery import route_change_event
from automation.models import ChangeEvent, DerivedTriggerEvent, Run
from automation.tests.definitions_support import routed_trigger_events
from automation.tests.engine_support import make_automation
from checks.models import CheckResult, NumericWatch
from checks.numeric_models import watch_row_id
from checks.numeric_state import NumericStateConfig, inside, numeric_watches_follow, watch_key

from .slo_support import checked_system

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_config_needs_a_bound_and_a_non_empty_range():
    with pytest.raises(ValidationError, match="at least one bound"):
        NumericStateConfig(field="latency_ms")
    with pytest.raises(ValidationError, match="empty"):
        NumericStateConfig(field="latency_ms", above=10, below=5)
    with pytest.raises(ValidationError):
        NumericStateConfig(field="status", above=1)
    key = watch_key(NumericStateConfig(check_id=uuid.UUID(int=1), field="tls_days_left", below=7))
    assert key == "c:00000000-0000-0000-0000-000000000001:tls_days_left::7.0"


def test_inside_is_strict_and_none_without_a_value():
    assert inside(501, 500, None) and not inside(500, 500, None)
    assert inside(6, None, 7) and not inside(7, None, 7)
    assert inside(5, 1, 10) and not inside(10, 1, 10)
    assert inside(None, 1, 10) is None


def test_the_validator_refuses_a_trigger_without_bounds():
    document = {"name": "x", "triggers": [{"event": "check.numeric_state", "config": {"field": "latency_ms"}}],
                "actions": [{"action": "automation.log", "config": {"message": "m"}}]}
    assert validate_document(document).errors == [
        {"message": "Value error, give at least one bound: above, below or both", "path": "triggers.0.config"}]


def watching(check, **config):
    return make_automation({
        "name": f"slow {uuid.uuid4()}", "mode": "parallel",
        "triggers": [{"event": "check.numeric_state",
                      "config": {"check_id": str(check.pk), "field": "latency_ms", **config}}],
        "actions": [{"action": "automation.log", "config": {"message": "slow: {{ trigger.payload.value }}"}}]})


def result(check, latency, at=None):
    return CheckResult.objects.create(check_ref=check, at=at or timezone.now(), ok=True, latency_ms=latency)


def test_fires_once_on_entering_and_not_while_inside():
    system, (check,) = checked_system()
    automation = watching(check, above=500)
    latencies = [100, 600, 700, 650, 100, 120, 800]
    flips = [numeric_watches_follow(check=check, result=result(check, ms)) for ms in latencies]

    assert [bool(f) for f in flips] == [True, True, False, False, True, False, True]
    changes = list(ChangeEvent.objects.filter(kind="check_numeric").order_by("id"))
    fired = [routed_trigger_events(change) for change in changes]
    watch = watch_key(NumericStateConfig(check_id=check.pk, field="latency_ms", above=500))
    row_id = str(watch_row_id(check.pk, watch))
    assert fired == [[], [{"event": "check.numeric_state", "payload": {
        "watch_id": row_id, "check_id": str(check.pk), "system_id": str(system.pk), "watch": watch,
        "field": "latency_ms", "value": 600.0, "above": 500.0, "below": None}}], [],
        [{"event": "check.numeric_state", "payload": {
            "watch_id": row_id, "check_id": str(check.pk), "system_id": str(system.pk), "watch": watch,
            "field": "latency_ms", "value": 800.0, "above": 500.0, "below": None}}]]
    assert Run.objects.filter(automation=automation).count() == 2


def test_a_first_value_inside_is_no_crossing():
    system, (check,) = checked_system()
    watching(check, above=500)
    numeric_watches_follow(check=check, result=result(check, 900))
    assert NumericWatch.objects.get().inside is True
    change = ChangeEvent.objects.get(kind="check_numeric")
    assert routed_trigger_events(change) == []


def test_each_automation_hears_only_its_own_range():
    system, (check,) = checked_system()
    slow, very_slow = watching(check, above=500), watching(check, above=1000)
    for ms in (100, 700):
        numeric_watches_follow(check=check, result=result(check, ms))
    for change in ChangeEvent.objects.filter(kind="check_numeric", routed_at=None).order_by("id"):
        route_change_event(str(change.change_id))

    assert Run.objects.filter(automation=slow).count() == 1
    assert Run.objects.filter(automation=very_slow).count() == 0


def test_results_no_automation_watches_cost_one_query_and_write_nothing():
    system, checks = checked_system(checks=1000)
    other, (watched,) = checked_system("Watched")
    watching(watched, above=500)  # a watch elsewhere: the index is not empty
    results = [CheckResult(check_ref=c, at=timezone.now(), ok=True, latency_ms=900) for c in checks]
    CheckResult.objects.bulk_create(results)
    changes_before = ChangeEvent.objects.count()

    with CaptureQueriesContext(connection) as queries:
        flipped = [numeric_watches_follow(check=c, result=r) for c, r in zip(checks, results, strict=True)]

    assert flipped == [[]] * 1000
    assert len(queries) == 1000  # the index look-up, nothing else
    assert ChangeEvent.objects.count() == changes_before
    assert not NumericWatch.objects.exists()


def test_simulate_and_why_show_the_watch_as_the_filter():
    system, (check,) = checked_system()
    automation = watching(check, above=500)
    watch = watch_key(NumericStateConfig(check_id=check.pk, field="latency_ms", above=500))
    payload = {"watch_id": "w", "check_id": str(check.pk), "system_id": str(system.pk), "watch": watch,
               "field": "latency_ms", "value": 700.0, "above": 500.0, "below": None}

    trace = simulate(automation, event="check.numeric_state", payload=payload)["traces"][0]
    assert trace["index_key"] == f"eq:watch:{watch}"
    assert trace["gates"][0] == {"gate": "filter", "passed": True,
                                 "detail": f"trigger.payload.watch == '{watch}' is True"}
    other = simulate(automation, event="check.numeric_state", payload={**payload, "watch": "c:x:latency_ms:1.0:"})
    assert not other["traces"][0]["would_start"]

    for ms in (100, 700):
        numeric_watches_follow(check=check, result=result(check, ms, timezone.now() - timedelta(seconds=5)))
    for change in ChangeEvent.objects.filter(kind="check_numeric").order_by("id"):
        route_change_event(str(change.change_id))
    row_id = str(watch_row_id(check.pk, watch))
    shown = why_fired(automation=automation, entity_id=row_id)
    assert len(shown["changes"]) == 1  # the creation derives no event: only the crossing is shown
    explained = shown["changes"][0]["events"][0]["triggers"][0]
    assert explained["started"] is True
    assert explained["gates"][0] == {"gate": "filter", "passed": True,
                                     "detail": f"trigger.payload.watch == '{watch}' is True"}
    assert DerivedTriggerEvent.objects.filter(event="check.numeric_state").count() == 1


def test_deleting_a_watched_check_or_its_system_takes_its_watch_rows():
    from catalog.services import system_delete
    from checks.models import Check, Slo
    from checks.services import check_delete

    from .slo_support import objective

    system, (check, other) = checked_system(checks=2)
    watching(check, above=500)
    watching(other, above=500)
    objective(system)
    for c in (check, other):
        numeric_watches_follow(check=c, result=result(c, 100))
    assert NumericWatch.objects.count() == 2

    check_delete(check=check)
    assert list(NumericWatch.objects.values_list("check_ref_id", flat=True)) == [other.pk]
    system_delete(system=system, actor="user:test")
    assert not (NumericWatch.objects.exists() or Check.objects.exists() or Slo.objects.exists())
