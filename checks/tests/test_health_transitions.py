"""Runs of checks and the health they write: one result per run, health written only when the status changes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from automation.models import ChangeEvent, Transition
from automation.secrets import secret_set
from catalog.models import HealthSource, HealthStatus, SystemHealth
from catalog.services import health_report
from checks.buckets import bucket_start
from checks.execution import check_execute
from checks.models import ERROR_MAX_LENGTH, Check, CheckBucketRollup, CheckResult
from checks.scheduling import checks_claim_due

from .run_support import make_check, make_checked_system
from .servers import HttpTarget

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def run(check):
    """Claim `check` now (it is made due) and run it, as beat and a worker would."""
    Check.objects.filter(pk=check.pk).update(next_run_at=timezone.now() - timedelta(seconds=1), lease_until=None)
    claim = next(c for c in checks_claim_due() if c.check_id == str(check.pk))
    return check_execute(check_id=claim.check_id, lease=claim.lease)


def health_changes(system):
    return list(ChangeEvent.objects.filter(kind="health", entity_id=str(system.pk)).order_by("id"))


def status_transitions(system):
    return list(Transition.objects.filter(kind="health", entity_id=str(system.pk), field="status")
                .order_by("at", "id").values_list("to_value", flat=True))


def test_a_run_writes_one_result_updates_the_check_and_releases_its_lease():
    system = make_checked_system()
    with HttpTarget() as server:
        check = make_check(system, url=server.url)
        report = run(check)
    check.refresh_from_db()
    assert list(CheckResult.objects.values_list("check_ref_id", "ok", "error")) == [(check.pk, True, "")]
    assert report.result.latency_ms == check.last_latency_ms is not None
    assert check.last_ok is True and check.consecutive_failures == 0 and check.lease_until is None
    assert check.last_run_at == report.result.at


def test_each_run_counts_itself_in_its_quarter_hour_bucket_in_the_same_write():
    system = make_checked_system()
    with HttpTarget() as server:
        check = make_check(system, url=server.url)
        first, second = run(check), run(check)

    buckets = list(CheckBucketRollup.objects.values_list("check_ref_id", "start", "runs", "failures", "latencies"))
    assert buckets == [(check.pk, bucket_start(first.result.at), 2, 0,
                        sorted([first.result.latency_ms, second.result.latency_ms]))] or (
        # the two runs fell on both sides of a quarter hour
        len(buckets) == 2 and sum(b[2] for b in buckets) == 2)


def test_health_is_written_on_status_changes_only():
    system = make_checked_system(threshold=2)
    with HttpTarget() as server:
        check = make_check(system, url=server.url)
        statuses = []
        for up in (True, True, False, False, False, True, True):
            server.up = up
            statuses.append(run(check).health_status)
    assert statuses == ["healthy", None, "degraded", "unhealthy", None, "healthy", None]
    assert CheckResult.objects.count() == 7
    assert len(health_changes(system)) == 4  # the first report and three transitions, no samples
    assert status_transitions(system) == ["healthy", "degraded", "unhealthy", "healthy"]
    health = SystemHealth.objects.get(pk=system.pk)
    assert health.message == "1 of 1 checks pass" and health.latency_ms is not None


def test_the_change_carries_the_message_and_latency_of_the_moment_it_happened():
    system = make_checked_system(threshold=1)
    with HttpTarget() as server:
        check = make_check(system, name="front", url=server.url)
        run(check)
        server.up = False
        run(check)
    change = health_changes(system)[-1]
    assert change.next["status"] == "unhealthy" and change.actor == "system:checks"
    assert change.next["message"] == "front: HTTP 503 (1 failures in a row)"
    assert change.next["latency_ms"] is not None  # the failing run's: the server answered, slowly or not


def test_latency_above_the_limit_degrades():
    system = make_checked_system(degraded_latency_ms=100)
    with HttpTarget(delay=0.25) as server:
        report = run(make_check(system, url=server.url))
    health = SystemHealth.objects.get(pk=system.pk)
    assert report.health_status == "degraded" and health.latency_ms >= 250
    assert health.message.startswith("probe: ") and "above 100 ms" in health.message


def test_a_reported_system_records_results_but_keeps_its_health():
    system = make_checked_system(source=HealthSource.REPORTED)
    health_report(system=system, status=HealthStatus.DEGRADED, message="from a client", actor="user:ann")
    with HttpTarget() as server:
        report = run(make_check(system, url=server.url))
    assert report.health_status is None and CheckResult.objects.count() == 1
    assert SystemHealth.objects.get(pk=system.pk).message == "from a client"


def test_switching_to_checks_follows_at_the_next_result():
    system = make_checked_system(source=HealthSource.REPORTED)
    health_report(system=system, status=HealthStatus.UNHEALTHY, message="from a client", actor="user:ann")
    with HttpTarget() as server:
        check = make_check(system, url=server.url)
        run(check)
        system.health_source = HealthSource.CHECKS
        system.save()
        assert run(check).health_status == "healthy"


def test_deleting_the_failing_check_lets_health_follow_the_rest():
    system = make_checked_system(threshold=1)
    with HttpTarget() as up, HttpTarget() as down:
        down.up = False
        good = make_check(system, name="good", url=up.url)
        bad = make_check(system, name="bad", url=down.url)
        run(good)
        assert run(bad).health_status == "unhealthy"
        bad.delete()
        assert run(good).health_status == "healthy"


def test_errors_are_cut_to_fit():
    system = make_checked_system(threshold=1)
    with HttpTarget(status=500) as server:
        check = make_check(system, url=server.url, body_keyword="x" * 200)
        Check.objects.filter(pk=check.pk).update(last_error="")
        report = run(check)
    assert report.result.error == "HTTP 500"
    CheckResult.objects.all().delete()
    check = make_check(system, name="long", url="http://no-such-host.invalid/")
    Check.objects.filter(pk=check.pk).update(headers={"X-" + "h" * 400: '{{ secret("TOKEN") | reverse }}'})
    report = run(check)
    assert len(report.result.error) == ERROR_MAX_LENGTH and report.result.error.startswith("header X-hhh")


def test_a_secret_never_reaches_the_result_or_the_health_message():
    secret_set(name="TOKEN", value="tok\n123456")  # a newline: http.client would quote it escaped
    system = make_checked_system(threshold=1)
    with HttpTarget() as server:
        report = run(make_check(system, url=server.url, headers={"Authorization": '{{ secret("TOKEN") }}'}))
    assert server.requests == []
    assert report.result.error == "header Authorization: the value must be a single line"
    assert "123456" not in SystemHealth.objects.get(pk=system.pk).message


def test_a_stale_claim_runs_nothing():
    system = make_checked_system()
    with HttpTarget() as server:
        check = make_check(system, url=server.url)
        Check.objects.filter(pk=check.pk).update(next_run_at=timezone.now() - timedelta(seconds=1))
        claim = checks_claim_due()[0]
        assert check_execute(check_id=claim.check_id, lease=claim.lease) is not None
        assert check_execute(check_id=claim.check_id, lease=claim.lease) is None  # redelivered
    assert len(server.requests) == 1 and CheckResult.objects.count() == 1
