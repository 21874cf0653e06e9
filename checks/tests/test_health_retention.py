"""Check results are purged by age through the retention machinery; roll-ups and young results stay."""

from datetime import timedelta

import pytest
from django.utils import timezone

from automation.retention import purge_expired
from checks.models import CheckDailyRollup, CheckResult

from .run_support import make_check, make_checked_system

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_results_older_than_the_setting_go(settings):
    settings.CHECKSTACK_RETAIN_CHECK_RESULTS_DAYS = 14
    check = make_check(make_checked_system())
    now = timezone.now()
    for days in (20, 15, 13, 1):
        CheckResult.objects.create(check_ref=check, at=now - timedelta(days=days), ok=True, latency_ms=5)
    rollup = CheckDailyRollup.objects.create(check_ref=check, day=(now - timedelta(days=20)).date(), runs=1)

    result = purge_expired(now=now, batch=1)

    assert result.deleted["check_results"] == 2
    assert sorted((now - at).days for at in CheckResult.objects.values_list("at", flat=True)) == [1, 13]
    assert CheckDailyRollup.objects.filter(pk=rollup.pk).exists()


def test_the_floor_keeps_two_days_and_zero_keeps_all(settings):
    check = make_check(make_checked_system())
    now = timezone.now()
    CheckResult.objects.create(check_ref=check, at=now - timedelta(days=1, hours=12), ok=True)
    settings.CHECKSTACK_RETAIN_CHECK_RESULTS_DAYS = 1
    purge_expired(now=now)
    assert CheckResult.objects.count() == 1
    settings.CHECKSTACK_RETAIN_CHECK_RESULTS_DAYS = 0
    purge_expired(now=now + timedelta(days=400))
    assert CheckResult.objects.count() == 1
