"""Per-location state and latency on the status page's system page and in the admin; the token shown once."""

import pytest

from catalog.tests.factories import make_system
from checks.models import Check, Location

from .config_factories import make_check
from .location_factories import make_location, prober_api, result_for

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _report(token: str, *, ok: bool, latency_ms: int | None) -> None:
    claims = prober_api(token).post("/api/v1/prober/claim/", {}, format="json").json()["claims"]
    answer = prober_api(token).post("/api/v1/prober/results/", {"results": [
        result_for(c, ok=ok, latency_ms=latency_ms, error="" if ok else "refused") for c in claims]}, format="json")
    assert answer.status_code == 200


def test_the_system_page_shows_each_locations_state_and_latency(client):
    (eu, eu_token), (us, us_token), (ap, _ap_token) = (make_location(n) for n in ("eu", "us", "ap"))
    system = make_system("shop")
    make_check(system, url="http://127.0.0.1:1/", location_ids=[str(eu.pk), str(us.pk), str(ap.pk)])
    _report(eu_token, ok=True, latency_ms=41)
    _report(us_token, ok=False, latency_ms=None)

    page = client.get(f"/status/systems/{system.pk}/").content.decode()

    rows = page.split('<table class="locations">', 1)[1].split("</table>", 1)[0]
    cells = [row.split("</td>")[0:3] for row in rows.split("<tr><td>")[1:]]
    assert [[c.replace("<td>", "").strip() for c in row] for row in cells] == [
        ["ap", "No data", "–"], ["eu", "Operational", "41 ms"], ["us", "Failing", "–"]]


def test_a_system_without_locations_shows_no_location_table(client):
    system = make_system("shop")
    make_check(system)

    assert 'class="locations"' not in client.get(f"/status/systems/{system.pk}/").content.decode()


def test_the_admin_shows_the_token_once_on_creation(admin_client):
    created = admin_client.post("/admin/checks/location/add/", {"name": "eu", "description": ""})

    shown = admin_client.get(created["Location"]).content.decode()
    location = Location.objects.get()
    token = shown.split("<code>")[1].split("</code>")[0]
    assert token.startswith("csl_")
    assert prober_api(token).post("/api/v1/prober/heartbeat/").status_code == 200
    page = admin_client.get(f"/admin/checks/location/{location.pk}/change/").content.decode()
    assert "csl_" not in page and "Online" in page


def test_the_admin_lists_each_check_of_a_location_with_its_state(admin_client):
    eu, token = make_location("eu")
    make_check(make_system("shop"), url="http://127.0.0.1:1/", location_ids=[str(eu.pk)])
    _report(token, ok=True, latency_ms=17)

    page = admin_client.get(f"/admin/checks/location/{eu.pk}/change/").content.decode()

    assert "shop / web" in page and "17 ms" in page


def test_an_admin_delete_goes_through_the_service(admin_client):
    eu, _ = make_location("eu")

    admin_client.post(f"/admin/checks/location/{eu.pk}/delete/", {"post": "yes"})

    assert not Location.objects.exists()


def test_the_check_admin_places_a_check_through_the_service_and_shows_each_location(admin_client):
    eu, token = make_location("eu")
    us, _ = make_location("us")
    system = make_system("shop")

    admin_client.post("/admin/checks/check/add/?kind=http", {
        "system": str(system.pk), "name": "web", "kind": "http", "enabled": "on", "interval_seconds": 60,
        "timeout_seconds": 10, "url": "http://127.0.0.1:1/", "http_method": "GET", "expected_status_codes": "[]",
        "headers": "{}", "location_choices": [str(eu.pk), str(us.pk)], "health_quorum": "2"})

    check = Check.objects.get()
    assert sorted(check.placements.values_list("location__name", flat=True)) == ["eu", "us"]
    assert check.health_quorum == 2 and all(p.next_run_at for p in check.placements.all())
    _report(token, ok=True, latency_ms=23)
    page = admin_client.get(f"/admin/checks/check/{check.pk}/change/").content.decode()
    assert "<td>eu</td><td>online</td><td>ok</td><td>23 ms</td>" in page
    assert "<td>us</td><td>online</td><td>no data</td><td>-</td>" in page
