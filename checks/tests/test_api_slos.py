"""/api/v1/slos/: CRUD through the services (change events with the user as actor), refusals without a
half-saved row, constant queries per list, the monthly report as JSON and CSV against the roll-ups, and
`health.system.slos` in expressions."""

from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from automation.expressions.evaluate import evaluate
from automation.expressions.scope import build_scope
from automation.models import ChangeEvent
from checks.models import CheckDailyRollup, Slo

from .slo_support import checked_system, objective, results

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

URL = "/api/v1/slos/"


@pytest.fixture
def shop():
    return checked_system()


def test_create_shows_config_and_live_figures_and_writes_the_entity(admin_api, admin_user, shop):
    system, _ = shop
    response = admin_api.post(URL, {"system_id": str(system.pk), "name": "availability", "target_percent": "99.9",
                                    "window_days": 28}, format="json")

    assert response.status_code == 201, response.json()
    slo = Slo.objects.get()
    assert response.json() == {
        "id": str(slo.pk), "system_id": str(system.pk), "name": "availability", "target_percent": 99.9,
        "window_days": 28, "indicator": "availability", "latency_threshold_ms": None, "sli_percent": None,
        "budget_remaining_percent": 100.0, "burn_rate_1h": 0.0, "burn_rate_6h": 0.0, "status": "ok"}
    change = ChangeEvent.objects.get(kind="slo")
    assert (change.prev, change.next, change.actor) == (
        None, {"system_id": str(system.pk), "name": "availability", "status": "ok", "budget_band": 100},
        "user:admin")


@pytest.mark.parametrize("body, field", [
    ({"window_days": 6}, "window_days"),
    ({"window_days": 91}, "window_days"),
    ({"target_percent": "100"}, "target_percent"),
    ({"target_percent": "0"}, "target_percent"),
    ({"target_percent": "99.9999"}, "target_percent"),
    ({"indicator": "latency"}, "latency_threshold_ms"),
    ({"latency_threshold_ms": 300}, "latency_threshold_ms"),
    ({"indicator": "errors"}, "indicator"),
    ({"name": ""}, "name"),
    ({"system_id": "00000000-0000-0000-0000-000000000000"}, "system_id"),
])
def test_bad_config_is_a_field_error_and_saves_nothing(admin_api, shop, body, field):
    system, _ = shop
    response = admin_api.post(URL, {"system_id": str(system.pk), "name": "a", "target_percent": "99.9", **body},
                              format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not Slo.objects.exists()
    assert not ChangeEvent.objects.filter(kind="slo").exists()


def test_a_name_is_unique_per_system(admin_api, shop):
    system, _ = shop
    objective(system, "a")
    response = admin_api.post(URL, {"system_id": str(system.pk), "name": "a", "target_percent": "99"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"name": ["This system already has an objective with this name."]}
    assert Slo.objects.count() == 1


def test_patch_and_delete_go_through_the_service(admin_api, shop):
    system, _ = shop
    slo = objective(system, "a")

    response = admin_api.patch(f"{URL}{slo.pk}/", {"indicator": "latency", "latency_threshold_ms": 250},
                               format="json")
    assert response.status_code == 200
    assert (response.json()["indicator"], response.json()["latency_threshold_ms"]) == ("latency", 250)
    # Config is not tracked state: no change event for it.
    assert ChangeEvent.objects.filter(kind="slo").count() == 1

    assert admin_api.patch(f"{URL}{slo.pk}/", {"window_days": 5}, format="json").status_code == 400
    assert Slo.objects.get().window_days == 30

    assert admin_api.delete(f"{URL}{slo.pk}/").status_code == 204
    assert not Slo.objects.exists()
    tombstone = ChangeEvent.objects.filter(kind="slo").latest("id")
    assert (tombstone.next, tombstone.prev["name"]) == (None, "a")


def test_reads_and_writes_need_permissions(api_client, django_user_model, shop):
    system, _ = shop
    slo = objective(system)
    assert api_client.get(URL).status_code in (401, 403)
    viewer = django_user_model.objects.create_user("viewer", password="pw-123456789")
    viewer.user_permissions.add(Permission.objects.get(codename="view_slo"))
    api_client.force_authenticate(viewer)

    assert api_client.get(URL).status_code == 200
    assert api_client.get(f"{URL}{slo.pk}/report/?month=2026-11").status_code == 200
    assert api_client.post(URL, {"system_id": str(system.pk), "name": "b", "target_percent": "99"},
                           format="json").status_code == 403
    assert api_client.delete(f"{URL}{slo.pk}/").status_code == 403
    assert Slo.objects.count() == 1


def test_a_list_costs_the_same_queries_for_any_number_of_objectives(admin_api, shop):
    system, _ = shop
    objective(system, "first")

    def counted():
        with CaptureQueriesContext(connection) as queries:
            assert admin_api.get(URL).status_code == 200
        return len(queries)

    one = counted()
    for n in range(5):
        other, _ = checked_system(f"S{n}")
        objective(other, f"o{n}", indicator="latency", latency_threshold_ms=100)
    assert counted() == one
    assert len(admin_api.get(URL).json()["results"]) == 6


def test_the_monthly_report_matches_the_rollups(admin_api, shop):
    system, (a,) = shop
    other = checked_system("Other")[1][0]
    slo = objective(system, target="99")
    for day, runs, failures in [(date(2026, 10, 1), 1000, 5), (date(2026, 10, 2), 500, 0),
                                (date(2026, 10, 31), 500, 15), (date(2026, 11, 1), 100, 100)]:
        CheckDailyRollup.objects.create(check_ref=a, day=day, runs=runs, failures=failures)
    CheckDailyRollup.objects.create(check_ref=other, day=date(2026, 10, 1), runs=10, failures=10)

    report = admin_api.get(f"{URL}{slo.pk}/report/?month=2026-10").json()

    # 2,000 results, 20 bad; 99 % lets the month have 20 bad: SLI 99 %, all of the budget used.
    assert {k: report[k] for k in ("month", "checks", "failures", "sli_percent", "budget_used_percent")} == {
        "month": "2026-10", "checks": 2000, "failures": 20, "sli_percent": 99.0, "budget_used_percent": 100.0}
    assert len(report["days"]) == 31
    assert report["days"][0] == {"day": "2026-10-01", "checks": 1000, "failures": 5, "sli_percent": 99.5,
                                 "budget_used_percent": 25.0}
    assert report["days"][1]["sli_percent"] == 100.0
    assert report["days"][2] == {"day": "2026-10-03", "checks": 0, "failures": 0, "sli_percent": None,
                                 "budget_used_percent": 0.0}
    assert report["days"][30]["budget_used_percent"] == 75.0

    response = admin_api.get(f"{URL}{slo.pk}/report/?month=2026-10", HTTP_ACCEPT="text/csv")
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[:4] == ["day,checks,failures,sli_percent,budget_used_percent", "2026-10-01,1000,5,99.5,25.0",
                         "2026-10-02,500,0,100.0,0.0", "2026-10-03,0,0,,0.0"]
    assert len(lines) == 32


def test_this_months_report_ends_today_with_todays_results(admin_api, shop):
    system, (a,) = shop
    slo = objective(system)
    now = timezone.now()
    results(a, at=now - timedelta(seconds=30), count=10, bad=1)

    report = admin_api.get(f"{URL}{slo.pk}/report/?month={now:%Y-%m}").json()

    assert report["days"][-1] == {"day": now.date().isoformat(), "checks": 10, "failures": 1, "sli_percent": 90.0,
                                  "budget_used_percent": 10000.0}
    assert len(report["days"]) == now.day


@pytest.mark.parametrize("month", ["", "2026-13", "2026-1", "x"])
def test_a_report_needs_a_month(admin_api, shop, month):
    slo = objective(shop[0])
    response = admin_api.get(f"{URL}{slo.pk}/report/?month={month}")
    assert response.status_code == 400
    assert response.json() == {"month": ["A month as YYYY-MM is required."]}


def test_health_system_slos_in_expressions(shop):
    system, (a,) = shop
    objective(system, "b-avail")
    objective(system, "a-fast", target="99", indicator="latency", latency_threshold_ms=100)
    results(a, at=timezone.now() - timedelta(minutes=10), count=100, latency_ms=150)

    scope = build_scope(trigger={}, variables={}, artifacts={}, now=timezone.now(),
                        context_system_id=str(system.pk))

    assert evaluate("health.system.slos | map(attribute='name') | list", scope) == ["a-fast", "b-avail"]
    assert evaluate("health.system.slos[0].status", scope) == "exhausted"
    assert evaluate("health.system.slos[1].budget_remaining_percent", scope) == 100.0
    # The example of docs/expressions.md.
    assert evaluate('health.system.slos | selectattr("status", "equalto", "exhausted") | list | length > 0', scope)


def test_a_csv_request_gets_its_errors_as_json(admin_api, shop):
    slo = objective(shop[0])
    response = admin_api.get(f"{URL}{slo.pk}/report/?month=nope", HTTP_ACCEPT="text/csv")
    assert (response.status_code, response["Content-Type"]) == (400, "application/json")
    assert response.json() == {"month": ["A month as YYYY-MM is required."]}
