"""The health rule per location, then the quorum across locations; an offline location is "no data"."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import SystemHealth
from catalog.tests.factories import make_system
from checks.locations.quorum import LocationState, quorum_combine, quorum_size
from checks.locations.services import locations_sweep
from checks.models import CheckLocation, Location

from .config_factories import make_check
from .location_factories import make_location, prober_api, result_for


@pytest.mark.parametrize(("reporting", "quorum", "needed"), [
    (3, None, 2), (2, None, 2), (1, None, 1), (4, None, 3), (3, 1, 1), (3, 3, 3), (2, 3, 2)])
def test_quorum_size_is_a_majority_unless_set_and_never_more_than_report(reporting, quorum, needed):
    assert quorum_size(reporting, quorum) == needed


def test_the_check_fails_only_when_a_quorum_of_locations_fails():
    eu, us, ap = (LocationState(n, True, 0, 10 + i) for i, n in enumerate(("eu", "us", "ap")))
    one_down = [eu, us, LocationState("ap", False, 5, None, "refused")]
    two_down = [LocationState("eu", False, 2, None, "timeout"), us, LocationState("ap", False, 5, None, "refused")]

    assert quorum_combine([eu, us, ap], None).last_ok is True
    assert quorum_combine(one_down, None) == quorum_combine(one_down, None).__class__(True, 0, 11, "")
    combined = quorum_combine(two_down, None)
    assert (combined.last_ok, combined.consecutive_failures) == (False, 2)  # both failed at least twice
    assert combined.error == "failing from 2 of 3 locations (ap: refused; eu: timeout)"
    assert quorum_combine(one_down, 1).consecutive_failures == 5
    assert quorum_combine([LocationState("eu", None, 0, None)], None).last_ok is None  # no data


def _run(token: str, *, ok: bool) -> None:
    claims = prober_api(token).post("/api/v1/prober/claim/", {}, format="json").json()["claims"]
    results = [result_for(claim, ok=ok, error="" if ok else "refused") for claim in claims]
    answer = prober_api(token).post("/api/v1/prober/results/", {"results": results}, format="json")
    assert answer.status_code == 200, answer.json()


def _due_again():
    CheckLocation.objects.update(next_run_at=timezone.now() - timedelta(seconds=1))


def _status(system):
    return SystemHealth.objects.filter(pk=system.pk).values_list("status", flat=True).first()


@pytest.mark.django_db
@pytest.mark.postgres
def test_one_failing_path_leaves_the_system_healthy_two_make_it_unhealthy():
    locations = [make_location(name) for name in ("eu", "us", "ap")]
    system = make_system(health_source="checks", health_failure_threshold=1)
    make_check(system, url="http://127.0.0.1:1/", location_ids=[str(loc.pk) for loc, _ in locations])
    (_, eu), (_, us), (_, ap) = locations

    _run(eu, ok=True), _run(us, ok=True), _run(ap, ok=False)
    assert _status(system) == "healthy"

    _due_again()
    _run(eu, ok=True), _run(us, ok=False), _run(ap, ok=False)
    assert _status(system) == "unhealthy"


@pytest.mark.django_db
@pytest.mark.postgres
def test_an_offline_location_is_no_data_and_the_others_decide(settings):
    locations = [make_location(name) for name in ("eu", "us", "ap")]
    system = make_system(health_source="checks", health_failure_threshold=1)
    check = make_check(system, url="http://127.0.0.1:1/", location_ids=[str(loc.pk) for loc, _ in locations])
    (eu_loc, eu), (_, us), (_, ap) = locations
    _run(eu, ok=False), _run(us, ok=True), _run(ap, ok=False)
    assert _status(system) == "unhealthy"

    # eu goes quiet; the others heartbeat a little later.
    time.sleep(1.2)
    for _loc, token in locations[1:]:
        prober_api(token).post("/api/v1/prober/heartbeat/")
    settings.CHECKSTACK_PROBER_OFFLINE_SECONDS = 30
    gone = locations_sweep(now=Location.objects.get(pk=eu_loc.pk).last_seen_at + timedelta(seconds=30.5))

    assert gone == [str(eu_loc.pk)]
    check.refresh_from_db()
    # us passes, ap fails: one of two is below the majority (2): the check passes, eu counts for nothing.
    assert (check.last_ok, check.consecutive_failures) == (True, 0)
    assert _status(system) == "healthy"


@pytest.mark.django_db
@pytest.mark.postgres
def test_the_systems_quorum_applies_unless_the_check_sets_its_own(admin_api):
    locations = [make_location(name) for name in ("eu", "us", "ap")]
    strict = make_system("strict", health_source="checks", health_failure_threshold=1, health_quorum=1)
    relaxed = make_system("relaxed", health_source="checks", health_failure_threshold=1, health_quorum=1)
    everywhere = [str(loc.pk) for loc, _ in locations]
    make_check(strict, url="http://127.0.0.1:1/", location_ids=everywhere)
    make_check(relaxed, url="http://127.0.0.1:1/", location_ids=everywhere, health_quorum=3)
    (_, eu), (_, us), (_, ap) = locations

    _run(eu, ok=True), _run(us, ok=True), _run(ap, ok=False)

    assert (_status(strict), _status(relaxed)) == ("unhealthy", "healthy")
    assert admin_api.get(f"/api/v1/systems/{strict.pk}/").json()["health_quorum"] == 1
    bad = admin_api.patch(f"/api/v1/systems/{strict.pk}/", {"health_quorum": 0}, format="json")
    assert bad.status_code == 400 and "health_quorum" in bad.json()


@pytest.mark.django_db
@pytest.mark.postgres
def test_deleting_the_failing_location_leaves_the_check_to_the_others(admin_api):
    locations = [make_location(name) for name in ("eu", "us")]
    system = make_system(health_source="checks", health_failure_threshold=1)
    check = make_check(system, url="http://127.0.0.1:1/", location_ids=[str(loc.pk) for loc, _ in locations],
                       health_quorum=1)
    (eu_loc, eu), (_, us) = locations
    _run(eu, ok=False), _run(us, ok=True)
    assert _status(system) == "unhealthy"  # one failing location is enough under a quorum of 1

    assert admin_api.delete(f"/api/v1/locations/{eu_loc.pk}/").status_code == 204

    check.refresh_from_db()  # no new run: the deletion itself refreshed the check and the health
    assert (check.last_ok, _status(system)) == (True, "healthy")
    assert list(check.placements.values_list("location__name", flat=True)) == ["us"]
