"""A prober's batch of results recorded at once: the same rows, transitions and fences as one at a time, in a
number of statements that does not grow with the batch."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from automation.models import ChangeEvent, Transition
from catalog.models import HealthSource
from catalog.tests.factories import make_system
from checks.buckets import bucket_start
from checks.models import Check, CheckBucketRollup, CheckLocation, CheckResult

from .config_factories import make_check
from .location_factories import make_location, prober_api, result_for

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _fleet(location, n: int, prefix: str = "s") -> list[Check]:
    """`n` systems whose health their one located check sets (failure threshold 1)."""
    return [make_check(make_system(f"{prefix}{i}", health_source=HealthSource.CHECKS, health_failure_threshold=1),
                       url="http://127.0.0.1:1/", location_ids=[str(location.pk)]) for i in range(n)]


def _claims(token: str) -> list[dict]:
    CheckLocation.objects.update(next_run_at="2000-01-01T00:00:00Z")  # every placement due now
    return prober_api(token).post("/api/v1/prober/claim/", {"max": 100}, format="json").json()["claims"]


def _post(token: str, results: list[dict]):
    return prober_api(token).post("/api/v1/prober/results/", {"results": results}, format="json")


def _statements(token: str, results: list[dict]) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert _post(token, results).json()["accepted"] == len(results)
    return len(queries)


def test_a_batch_writes_each_result_its_bucket_its_check_and_one_transition_per_system_that_changed():
    eu, token = make_location("eu")
    checks = _fleet(eu, 3)
    claims = _claims(token)
    failing = {claims[0]["check_id"], claims[1]["check_id"]}

    answer = _post(token, [result_for(c, ok=c["check_id"] not in failing, latency_ms=30 + n, error="boom"
                                      if c["check_id"] in failing else "") for n, c in enumerate(claims)])

    assert answer.json() == {"accepted": 3, "refused": []}
    assert sorted(CheckResult.objects.values_list("check_ref_id", "ok", "location_id")) == sorted(
        (c.pk, str(c.pk) not in failing, eu.pk) for c in checks)
    at = CheckResult.objects.values_list("at", flat=True).first()
    assert sorted(CheckBucketRollup.objects.values_list("check_ref_id", "start", "runs", "failures")) == sorted(
        (c.pk, bucket_start(at), 1, int(str(c.pk) in failing)) for c in checks)
    states = dict(Check.objects.values_list("pk", "consecutive_failures"))
    assert states == {c.pk: int(str(c.pk) in failing) for c in checks}
    # Each system's first status (a transition from nothing) through the mutation service, with its change event.
    written = sorted(Transition.objects.filter(kind="health", field="status").values_list("entity_id", "to_value"))
    assert written == sorted((str(c.system_id), "unhealthy" if str(c.pk) in failing else "healthy") for c in checks)
    assert ChangeEvent.objects.filter(kind="health").count() == 3
    assert set(CheckLocation.objects.values_list("lease_token", flat=True)) == {""}  # every claim used up


def test_a_replayed_claim_in_the_same_batch_is_refused_and_written_once():
    eu, token = make_location("eu")
    _fleet(eu, 2)
    first, second = _claims(token)

    answer = _post(token, [result_for(first), result_for(second), result_for(first, ok=False)])

    assert answer.json() == {"accepted": 2, "refused": [{"index": 2, "reason": answer.json()["refused"][0]["reason"]}]}
    assert CheckResult.objects.count() == 2 and not CheckResult.objects.filter(ok=False).exists()


def test_a_batch_mixing_held_and_forged_claims_writes_only_the_held_ones_and_reports_the_rest_by_index():
    eu, token = make_location("eu")
    _fleet(eu, 2)
    first, second = _claims(token)
    forged = {**result_for(second), "claim": "x" * 32}

    answer = _post(token, [forged, result_for(first)])

    assert answer.status_code == 200
    assert answer.json()["accepted"] == 1 and [r["index"] for r in answer.json()["refused"]] == [0]
    assert list(CheckResult.objects.values_list("check_ref_id", flat=True)) == [Check.objects.get(
        pk=first["check_id"]).pk]
    assert CheckLocation.objects.get(check_ref_id=second["check_id"]).lease_token == second["claim"]  # still held


def test_the_statements_of_a_batch_do_not_grow_with_its_size():
    eu, token = make_location("eu")
    _fleet(eu, 24)
    claims = _claims(token)
    _post(token, [result_for(c) for c in claims])  # first statuses written: later batches change nothing
    claims = _claims(token)

    small = _statements(token, [result_for(c) for c in claims[:4]])
    large = _statements(token, [result_for(c) for c in claims[4:]])

    assert small == large  # 4 or 20 results: the same statements, each over the whole batch
    assert CheckResult.objects.count() == 48
