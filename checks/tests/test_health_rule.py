"""The health rule, pure: check states in, a system's status, message and latency out."""

from catalog.models import HealthStatus
from checks.health_rule import CheckState, DerivedHealth, HealthRule, health_derive

RULE = HealthRule(failure_threshold=3, degraded_latency_ms=500)


def passing(name, latency=100):
    return CheckState(name, True, 0, latency)


def failing(name, times, error="HTTP 503"):
    return CheckState(name, False, times, 20, error)


def test_nothing_to_say_before_any_check_ran():
    assert health_derive([], RULE) is None
    assert health_derive([CheckState("a", None, 0, None)], RULE) is None


def test_all_passing_within_the_latency_limit_is_healthy_with_the_highest_latency():
    assert health_derive([passing("a", 120), passing("b", 480)], RULE) == DerivedHealth(
        HealthStatus.HEALTHY, "2 of 2 checks pass", 480)


def test_checks_never_run_are_left_out():
    derived = health_derive([passing("a"), CheckState("new", None, 0, None)], RULE)
    assert derived.status == HealthStatus.HEALTHY and derived.message == "1 of 1 checks pass"


def test_a_failure_below_the_threshold_is_degraded():
    assert health_derive([passing("a"), failing("b", 2)], RULE) == DerivedHealth(
        HealthStatus.DEGRADED, "b: HTTP 503 (2 of 3 failures)", 100)


def test_failures_reaching_the_threshold_are_unhealthy_whatever_else_passes():
    assert health_derive([passing("a"), failing("c", 1), failing("b", 3, "timed out after 2 s")], RULE) == \
        DerivedHealth(HealthStatus.UNHEALTHY, "b: timed out after 2 s (3 failures in a row)", 100)


def test_a_passing_check_above_the_latency_limit_is_degraded():
    assert health_derive([passing("a", 501), passing("b", 20)], RULE) == DerivedHealth(
        HealthStatus.DEGRADED, "a: 501 ms, above 500 ms", 501)
    assert health_derive([passing("a", 500)], RULE).status == HealthStatus.HEALTHY  # at the limit is fine


def test_no_latency_rule_means_latency_never_degrades():
    assert health_derive([passing("a", 60_000)], HealthRule(3, None)).status == HealthStatus.HEALTHY


def test_threshold_one_makes_a_single_failure_unhealthy():
    assert health_derive([failing("a", 1)], HealthRule(1, None)).status == HealthStatus.UNHEALTHY


def test_the_message_names_the_first_check_by_name():
    derived = health_derive([failing("zeta", 5), failing("alpha", 4)], RULE)
    assert derived.message.startswith("alpha:")
