"""The "page on fast burn" template end to end: a burn opens one critical incident on the objective's system
within the rule's short window; the objective ok again resolves it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from automation.automation_templates import TEMPLATES
from automation.engine.runs.runner import run_advance
from automation.engine.waiting.timers import timers_fire_due
from automation.entities.delivery import route_change_event
from automation.models import ChangeEvent, Run, RunStatus
from automation.services.automation_templates import automation_template_install
from checks.models import Slo
from checks.slos.evaluation import slos_evaluate
from incidents.models import Incident, IncidentStatus

from .slo_support import checked_system, objective, results, rollup

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def settle(rounds: int = 4) -> None:
    """What workers would do until quiet: route, fire due timers, advance and resume runs."""
    for _ in range(rounds):
        for change_id in ChangeEvent.objects.filter(routed_at=None).order_by("id").values_list("change_id", flat=True):
            route_change_event(str(change_id))
        timers_fire_due()
        for run in Run.objects.filter(status__in=[RunStatus.PENDING, RunStatus.WAITING]).order_by("created_at"):
            run_advance(run_id=run.pk, resume=run.status == RunStatus.WAITING)


def test_a_fast_burn_pages_and_recovery_resolves(admin_user):
    automation_template_install(template=TEMPLATES["page-on-fast-burn"], parameters={}, editor=admin_user)
    system, (check,) = checked_system()
    slo = objective(system, "checkout availability", window_days=30)
    rollup(check, 1, runs=1_000_000, failures=0)
    now = timezone.now()
    results(check, at=now - timedelta(hours=2), count=120, step=timedelta(minutes=1))
    slos_evaluate(now=now)
    settle()
    assert not Incident.objects.exists()

    # Failing from now on, one result every 30 s: the first evaluation after the first failure pages.
    results(check, at=now + timedelta(seconds=30), count=4, bad=4, step=timedelta(seconds=30))
    slos_evaluate(now=now + timedelta(minutes=1))
    settle()
    incident = Incident.objects.get()
    assert (incident.title, incident.severity, incident.status) == (
        "checkout availability: the error budget is burning fast", "critical", IncidentStatus.INVESTIGATING)
    assert list(incident.systems.all()) == [system]

    # Still burning: no second incident.
    slos_evaluate(now=now + timedelta(minutes=2))
    settle()
    assert Incident.objects.count() == 1

    # Good again: once the failures leave the 30 minute window the objective is ok and the incident resolved.
    results(check, at=now + timedelta(minutes=3), count=40, step=timedelta(minutes=1))
    slos_evaluate(now=now + timedelta(minutes=35))
    settle()
    assert Slo.objects.get(pk=slo.pk).status == "ok"
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.RESOLVED
