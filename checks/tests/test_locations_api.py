"""/api/v1/locations/ and the prober API: tokens shown once and hashed, scoped claims, fenced results."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from automation.entities.registry import Change
from automation.models import ChangeEvent
from catalog.tests.factories import make_system
from checks.locations.entities import derive_location_events
from checks.locations.services import locations_sweep
from checks.models import Check, CheckLocation, CheckResult, Location
from checks.scheduling import checks_claim_due

from .config_factories import make_check
from .location_factories import make_location, prober_api, result_for

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_create_shows_the_token_once_and_stores_only_its_hash(admin_api):
    response = admin_api.post("/api/v1/locations/", {"name": "eu-west", "description": "Dublin"}, format="json")

    assert response.status_code == 201, response.json()
    data = response.json()
    location = Location.objects.get()
    assert data["token"].startswith("csl_") and len(data["token"]) > 40
    assert location.token_hash == hashlib.sha256(data["token"].encode()).hexdigest()
    assert (data["name"], data["status"], data["last_seen_at"]) == ("eu-west", "offline", None)
    assert admin_api.get(f"/api/v1/locations/{location.pk}/").json()["token"] is None
    assert admin_api.get("/api/v1/locations/").json()["results"][0]["token"] is None
    assert list(ChangeEvent.objects.filter(kind="location").values_list("entity_id", flat=True)) == [str(location.pk)]


def test_a_duplicate_name_is_a_field_error_and_writes_nothing(admin_api):
    make_location("eu")

    response = admin_api.post("/api/v1/locations/", {"name": "eu"}, format="json")

    assert response.status_code == 400 and "name" in response.json()
    assert Location.objects.count() == 1


def test_rotation_gives_a_new_token_and_the_old_one_stops_working(admin_api):
    location, old = make_location("eu")

    response = admin_api.post(f"/api/v1/locations/{location.pk}/rotate-token/")

    assert response.status_code == 200
    new = response.json()["token"]
    assert new != old
    assert prober_api(old).post("/api/v1/prober/heartbeat/").status_code == 401
    assert prober_api(new).post("/api/v1/prober/heartbeat/").status_code == 200


def test_heartbeat_sets_online_and_the_sweep_sets_a_silent_location_offline(settings):
    settings.CHECKSTACK_PROBER_OFFLINE_SECONDS = 30
    location, token = make_location("eu", online=False)

    assert prober_api(token).post("/api/v1/prober/heartbeat/").status_code == 200
    location.refresh_from_db()
    assert location.status == "online" and location.last_seen_at is not None
    assert locations_sweep(now=location.last_seen_at + timedelta(seconds=29)) == []
    assert locations_sweep(now=location.last_seen_at + timedelta(seconds=31)) == [str(location.pk)]

    location.refresh_from_db()
    assert location.status == "offline"
    events = ChangeEvent.objects.filter(kind="location", entity_id=str(location.pk)).order_by("id")
    assert [e.next["status"] for e in events] == ["offline", "online", "offline"]
    derived = [[d.event for d in derive_location_events(_change(e))] for e in events]
    assert derived == [[], ["location.online"], ["location.offline"]]


def _change(event: ChangeEvent) -> Change:
    return Change(str(event.change_id), event.kind, event.entity_id, event.prev, event.next, event.delta,
                  event.changed_fields, event.actor, event.occurred_at)


def test_a_located_check_is_left_to_its_probers_and_shows_its_locations(admin_api):
    eu, _ = make_location("eu")
    us, _ = make_location("us")
    system = make_system()

    response = admin_api.post("/api/v1/checks/", {
        "system": str(system.pk), "name": "web", "kind": "http", "url": "http://127.0.0.1:1/",
        "location_ids": [str(eu.pk), str(us.pk)], "health_quorum": 2}, format="json")
    central = make_check(system, name="central")

    assert response.status_code == 201, response.json()
    assert response.json()["location_ids"] == sorted([str(eu.pk), str(us.pk)])
    assert response.json()["health_quorum"] == 2
    assert [c.check_id for c in checks_claim_due()] == [str(central.pk)]


def test_unknown_locations_and_located_heartbeats_are_field_errors(admin_api):
    system = make_system()
    eu, _ = make_location("eu")
    base = {"system": str(system.pk), "name": "web", "kind": "http", "url": "http://127.0.0.1:1/"}

    unknown = admin_api.post("/api/v1/checks/", {**base, "location_ids": ["7d0c3a3c-0f43-4a57-9e43-3a8c1d0e0000"]},
                             format="json")
    heartbeat = admin_api.post("/api/v1/checks/", {**base, "kind": "heartbeat", "location_ids": [str(eu.pk)]},
                               format="json")
    quorum = admin_api.post("/api/v1/checks/", {**base, "health_quorum": 0}, format="json")

    assert unknown.status_code == 400 and "location_ids" in unknown.json()
    assert heartbeat.status_code == 400 and "location_ids" in heartbeat.json()
    assert quorum.status_code == 400 and "health_quorum" in quorum.json()
    assert Check.objects.count() == 0


def _located(system, *locations, name="web", **fields):
    return make_check(system, name=name, url="http://127.0.0.1:1/",
                      location_ids=[str(loc.pk) for loc in locations], **fields)


def test_a_claim_leases_only_its_own_locations_due_checks_once():
    eu, eu_token = make_location("eu")
    us, us_token = make_location("us")
    system = make_system()
    both = _located(system, eu, us, name="both")
    only_us = _located(system, us, name="us-only")
    due_before = CheckLocation.objects.get(check_ref=both, location=eu).next_run_at

    eu_claims = prober_api(eu_token).post("/api/v1/prober/claim/", {"max": 10}, format="json").json()["claims"]
    again = prober_api(eu_token).post("/api/v1/prober/claim/", {"max": 10}, format="json").json()["claims"]
    us_claims = prober_api(us_token).post("/api/v1/prober/claim/", {"max": 10}, format="json").json()["claims"]

    assert [c["check_id"] for c in eu_claims] == [str(both.pk)]
    assert eu_claims[0]["check"]["url"] == "http://127.0.0.1:1/" and "name" not in eu_claims[0]["check"]
    assert eu_claims[0]["due_at"] == due_before.isoformat()  # the run it is for, not the claim's time
    assert again == []  # leased: not handed out twice
    assert sorted(c["check_id"] for c in us_claims) == sorted([str(both.pk), str(only_us.pk)])


def test_a_result_is_recorded_once_with_its_location_and_a_replay_is_refused():
    eu, token = make_location("eu")
    check = _located(make_system(), eu)
    claim = prober_api(token).post("/api/v1/prober/claim/", {}, format="json").json()["claims"][0]

    first = prober_api(token).post("/api/v1/prober/results/", {"results": [result_for(claim)]}, format="json")
    replay = prober_api(token).post("/api/v1/prober/results/", {"results": [result_for(claim)]}, format="json")

    assert first.status_code == 200 and first.json() == {"accepted": 1, "refused": []}
    assert replay.status_code == 409 and replay.json()["accepted"] == 0
    assert list(CheckResult.objects.values_list("check_ref_id", "location_id", "ok", "latency_ms")) == [
        (check.pk, eu.pk, True, 12)]
    placement = CheckLocation.objects.get()
    assert (placement.lease_token, placement.lease_until, placement.last_ok) == ("", None, True)
    check.refresh_from_db()
    assert (check.last_ok, check.consecutive_failures, check.last_latency_ms) == (True, 0, 12)


def test_another_locations_token_cannot_claim_or_post_for_it():
    eu, eu_token = make_location("eu")
    _us, us_token = make_location("us")
    _located(make_system(), eu)
    claim = prober_api(eu_token).post("/api/v1/prober/claim/", {}, format="json").json()["claims"][0]

    stolen = prober_api(us_token).post("/api/v1/prober/results/", {"results": [result_for(claim)]}, format="json")

    assert prober_api(us_token).post("/api/v1/prober/claim/", {}, format="json").json()["claims"] == []
    assert stolen.status_code == 409
    assert CheckResult.objects.count() == 0
    assert CheckLocation.objects.get().lease_token == claim["claim"]  # the real claim still holds


def test_forged_claims_and_missing_tokens_are_refused(api_client):
    eu, token = make_location("eu")
    check = _located(make_system(), eu)
    prober_api(token).post("/api/v1/prober/claim/", {}, format="json")
    forged = {"claim": "x" * 32, "check_id": str(check.pk), "ok": False, "latency_ms": None, "error": "down"}

    answer = prober_api(token).post("/api/v1/prober/results/", {"results": [forged, {**forged, "claim": ""}]},
                                    format="json")

    assert answer.status_code == 409
    assert [r["index"] for r in answer.json()["refused"]] == [0, 1]
    assert CheckResult.objects.count() == 0
    assert api_client.post("/api/v1/prober/claim/", {}, format="json").status_code == 401
    assert prober_api("csl_not-a-token").post("/api/v1/prober/claim/", {}, format="json").status_code == 401


def test_a_lapsed_claim_is_claimed_again_and_its_late_result_refused():
    eu, token = make_location("eu")
    _located(make_system(), eu, timeout_seconds=1)
    first = prober_api(token).post("/api/v1/prober/claim/", {}, format="json").json()["claims"][0]
    CheckLocation.objects.update(lease_until=timezone.now() - timedelta(seconds=1),
                                 next_run_at=timezone.now() - timedelta(seconds=1))  # the prober died

    second = prober_api(token).post("/api/v1/prober/claim/", {}, format="json").json()["claims"][0]
    late = prober_api(token).post("/api/v1/prober/results/", {"results": [result_for(first)]}, format="json")
    fresh = prober_api(token).post("/api/v1/prober/results/", {"results": [result_for(second)]}, format="json")

    assert second["claim"] != first["claim"]
    assert (late.status_code, fresh.status_code) == (409, 200)
    assert CheckResult.objects.count() == 1


def test_an_oversized_batch_is_413_and_records_nothing(settings):
    settings.CHECKSTACK_PROBER_MAX_BATCH = 3
    eu, token = make_location("eu")
    check = _located(make_system(), eu)
    claim = prober_api(token).post("/api/v1/prober/claim/", {}, format="json").json()["claims"][0]

    answer = prober_api(token).post("/api/v1/prober/results/", {"results": [result_for(claim)] * 4}, format="json")

    assert answer.status_code == 413
    assert CheckResult.objects.filter(check_ref=check).count() == 0


def test_probers_are_rate_limited_per_location(settings):
    settings.CHECKSTACK_PROBER_RATE_LIMIT = 3
    _eu, eu_token = make_location("eu", online=False)
    _us, us_token = make_location("us", online=False)

    codes = [prober_api(eu_token).post("/api/v1/prober/heartbeat/").status_code for _ in range(4)]

    assert codes == [200, 200, 200, 429]
    assert prober_api(us_token).post("/api/v1/prober/heartbeat/").status_code == 200
