"""Setup for SLO tests: systems with checks, roll-ups and results at chosen times."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from catalog.services import system_create
from checks.models import Check, CheckDailyRollup, CheckResult
from checks.slos.services import slo_create

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TODAY = date(2026, 11, 20)


def checked_system(name="Shop", checks=1):
    system = system_create(name=name, actor="system")
    made = [Check.objects.create(system=system, name=f"c{n}", kind="http", url="http://127.0.0.1:9/")
            for n in range(checks)]
    return system, made


def rollup(check, days_ago, runs, failures):
    CheckDailyRollup.objects.create(check_ref=check, day=TODAY - timedelta(days=days_ago), runs=runs,
                                    failures=failures)


def results(check, *, at, count, bad=0, latency_ms=100, step=timedelta(seconds=1)):
    """`count` results from `at` on, one per `step`, the first `bad` of them failed."""
    CheckResult.objects.bulk_create(CheckResult(check_ref=check, at=at + n * step, ok=n >= bad, latency_ms=latency_ms)
                                    for n in range(count))


def objective(system, name="avail", target="99.9", **fields):
    return slo_create(system=system, actor="user:test", name=name, target_percent=Decimal(target), **fields)
