"""The demo's self-check: Checkstack checks its own /healthz, and the status page has history on first run."""

import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from catalog.models import System
from checks.models import Check, CheckDailyRollup, CheckResult
from checkstack.demo import SYNTHETIC_ERROR

from .bars_support import drawn_days

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@override_settings(CHECKSTACK_PUBLIC_URL="https://status.example.com/")
def test_the_demo_checks_its_own_healthz_with_a_synthetic_history(admin_user):
    call_command("checkstack_demo")

    system = System.objects.get(name="Checkstack")
    check = Check.objects.get(system=system)
    assert system.health_source == "checks"
    assert (check.kind, check.url, check.enabled) == ("http", "https://status.example.com/healthz", True)
    check.full_clean()  # a valid check, as the admin would save it
    failed = CheckResult.objects.filter(check_ref=check, ok=False)
    assert failed.count() == 4 and set(failed.values_list("error", flat=True)) == {SYNTHETIC_ERROR}
    assert CheckResult.objects.filter(check_ref=check).count() == 576
    assert CheckDailyRollup.objects.filter(check_ref=check).count() >= 30

    call_command("checkstack_demo")  # a second run adds nothing
    assert CheckResult.objects.count() == 576 and Check.objects.count() == 1


def test_with_the_demo_data_the_page_shows_history_in_a_handful_of_queries(admin_user):
    call_command("checkstack_demo")

    with CaptureQueriesContext(connection) as queries:
        html = Client().get("/status/").content.decode()

    assert len(queries) <= 15  # the page's 10 or 11 and the ETag's 4
    assert html.count('class="uptime-bar"') == 1
    assert drawn_days(html, "(?:up|partial|down)") >= 30
    checkstack = System.objects.get(name="Checkstack")
    assert len(re.findall(r'<circle class="point', Client().get(f"/status/systems/{checkstack.pk}/")
                          .content.decode())) >= 90
