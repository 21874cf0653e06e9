"""`for:` and `window` on check.numeric_state, as on any trigger: a dwell holds while the value stays inside and
breaks when it leaves; a window counts crossings."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from automation.engine.waiting.timers import timers_fire_due
from automation.entities.delivery import route_change_event
from automation.models import ChangeEvent, Dwell, Run
from automation.tests.engine_support import make_automation
from checks.models import CheckResult
from checks.numeric_state import numeric_watches_follow

from .slo_support import checked_system

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def automation_on(check, **trigger):
    return make_automation({
        "name": f"tls {uuid.uuid4().hex[:6]}", "mode": "parallel", "concurrency_scope": "context_key",
        "triggers": [{"event": "check.numeric_state",
                      "config": {"check_id": str(check.pk), "field": "tls_days_left", "below": 14}, **trigger}],
        "actions": [{"action": "automation.log", "config": {"message": "renew the certificate"}}]})


def days_left(check, days):
    result = CheckResult.objects.create(check_ref=check, at=timezone.now(), ok=True, latency_ms=5, tls_days_left=days)
    numeric_watches_follow(check=check, result=result)
    for change_id in ChangeEvent.objects.filter(routed_at=None).order_by("id").values_list("change_id", flat=True):
        route_change_event(str(change_id))


def test_for_fires_after_the_value_stayed_inside_and_a_leave_breaks_it():
    system, (check,) = checked_system()
    automation = automation_on(check, **{"for": {"minutes": 30}})
    days_left(check, 20)
    days_left(check, 13)
    first = Dwell.objects.get(automation=automation)
    days_left(check, 30)  # renewed before the dwell ended: broken
    assert not Dwell.objects.filter(automation=automation).exists()

    days_left(check, 10)
    dwell = Dwell.objects.get(automation=automation)
    assert dwell.deadline > first.deadline
    days_left(check, 9)  # still inside: the dwell keeps its deadline
    assert Dwell.objects.get(automation=automation).deadline == dwell.deadline
    timers_fire_due(now=dwell.deadline + timedelta(seconds=1))
    assert Run.objects.filter(automation=automation).count() == 1


def test_a_window_counts_crossings():
    system, (check,) = checked_system()
    automation = automation_on(check, window={"count": 2, "minutes": 60})
    for days in (20, 10, 20, 10):
        days_left(check, days)
    assert Run.objects.filter(automation=automation).count() == 1  # the second crossing within the hour
