"""SLOs end to end: PostgreSQL, Redis, a real worker and beat, a real local HTTP server.

A system answered well for the last hour (results seeded, one every 10 s) and its check keeps running every
10 s. When the server goes down, beat's evaluation pass (every minute) finds the objective burning once the
5-minute and 1-hour burn rates pass 14.4, and the installed "page on fast burn" template opens a critical
incident: within the rule's short window of the outage.
"""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from automation.automation_templates import TEMPLATES
from automation.services.automation_templates import automation_template_install
from checks.models import Check, CheckDailyRollup, CheckResult, Slo
from incidents.models import Incident
from testing.process_fixtures import start_beat, start_worker, wait_for

from .run_support import make_check, make_checked_system
from .servers import HttpTarget
from .slo_support import objective

pytestmark = pytest.mark.integration


@pytest.fixture
def processes(integration, tmp_path):
    procs = [start_worker(tmp_path, name="slo-w", concurrency=2), start_beat(tmp_path, name="slo-beat")]
    yield procs
    for proc in procs:
        proc.stop()


def test_a_burn_pages_within_five_minutes(processes, admin_user):
    automation_template_install(template=TEMPLATES["page-on-fast-burn"], parameters={}, editor=admin_user)
    system = make_checked_system("checkout")
    with HttpTarget() as server:
        check = make_check(system, name="front", url=f"{server.url}/", interval_seconds=10, timeout_seconds=2)
        now = timezone.now()
        CheckResult.objects.bulk_create(CheckResult(check_ref=check, at=now - timedelta(seconds=10 * n), ok=True,
                                                    latency_ms=5) for n in range(1, 361))
        CheckDailyRollup.objects.create(check_ref=check, day=now.date() - timedelta(days=1), runs=100_000,
                                        failures=0)
        slo = objective(system, "checkout availability", window_days=30)
        Check.objects.filter(pk=check.pk).update(next_run_at=now)

        server.up = False
        went_down = time.monotonic()
        wait_for(lambda: Incident.objects.exists(), timeout=300, what="an incident for the burn")
        paged_after = time.monotonic() - went_down

    assert paged_after <= 300
    incident = Incident.objects.get()
    assert (incident.severity, list(incident.systems.all())) == ("critical", [system])
    assert Slo.objects.get(pk=slo.pk).status == "burning"
