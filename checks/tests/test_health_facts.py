"""`health.system` facts read from check results, evaluated in expressions as automations evaluate them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from automation.expressions.evaluate import ExpressionError, evaluate
from automation.expressions.scope import build_scope
from catalog.models import HealthSource, HealthStatus
from catalog.services import health_report
from checks.models import Check, CheckResult

from .run_support import make_check, make_checked_system

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def expr(text, system):
    scope = build_scope(trigger={}, variables={}, artifacts={}, now=timezone.now(), context_system_id=str(system.pk))
    return evaluate(text, scope)


def results(check, rows):
    """Results (minutes ago, ok, latency) of `check`."""
    now = timezone.now()
    CheckResult.objects.bulk_create(CheckResult(check_ref=check, at=now - timedelta(minutes=ago), ok=ok,
                                                latency_ms=latency) for ago, ok, latency in rows)


@pytest.fixture
def system():
    system = make_checked_system()
    a, b = make_check(system, name="a"), make_check(system, name="b")
    # Last hour: 18 passing (10..100 ms and 110..900 ms), 2 failing (timeouts); older ones outside the window.
    results(a, [(i, True, 10 * (i + 1)) for i in range(10)] + [(30, False, 2000)])
    results(b, [(i + 10, True, 100 * (i + 1)) for i in range(1, 9)] + [(40, False, 2000)])
    results(b, [(90, True, 5), (120, False, None)])
    Check.objects.filter(pk=b.pk).update(last_run_at=timezone.now() - timedelta(seconds=5))
    return system


def test_window_facts_over_the_last_hour(system):
    assert expr("health.system.success_rate", system) == 0.9
    # Passing latencies of the last hour: 10..100 ms (a) and 200..900 ms (b).
    passing = [10 * (i + 1) for i in range(10)] + [100 * (i + 1) for i in range(1, 9)]
    assert expr("health.system.avg_latency_ms", system) == round(sum(passing) / len(passing))
    assert expr("health.system.p95_latency_ms", system) == sorted(passing)[-1]  # nearest rank of 18: the 18th


def test_latency_stats_takes_another_window(system):
    assert expr("health.system.latency_stats(minutes=5)", system) == {
        "runs": 5, "failures": 0, "success_rate": 1.0, "avg_latency_ms": 30, "p95_latency_ms": 50}
    wide = expr("health.system.latency_stats(minutes=180)", system)
    assert (wide["runs"], wide["failures"]) == (22, 3)
    with pytest.raises(ExpressionError, match="at most 1440"):
        expr("health.system.latency_stats(minutes=2000)", system)


def test_last_run_at_and_latency_of_the_newest_result(system):
    assert timezone.now() - expr("health.system.last_run_at", system) < timedelta(seconds=10)
    assert expr("health.system.latency_ms", system) == 10  # a's result 0 minutes ago


def test_a_reported_system_keeps_its_reported_latency(system):
    system.health_source = HealthSource.REPORTED
    system.save()
    health_report(system=system, status=HealthStatus.HEALTHY, latency_ms=77, actor="user:ann")
    assert expr("health.system.latency_ms", system) == 77


def test_a_system_without_results_has_none():
    bare = make_checked_system("bare")
    assert expr("health.system.success_rate", bare) is None
    assert expr("health.system.avg_latency_ms", bare) is None
    assert expr("health.system.last_run_at", bare) is None
    assert expr("health.system.latency_stats()", bare)["runs"] == 0
