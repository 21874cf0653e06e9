"""A client's health report for a system whose health comes from checks: a clear 409, nothing written."""

import pytest

from catalog.models import HealthSource, SystemHealth
from catalog.services import health_report, system_update
from catalog.tests.factories import ACTOR, log_size, make_system

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_health_post_to_a_checks_managed_system_is_409_and_writes_nothing(admin_api):
    system = make_system()
    health_report(system=system, status="healthy", actor=ACTOR)
    system_update(system=system, health_source=HealthSource.CHECKS, actor=ACTOR)
    before = log_size()

    response = admin_api.post(f"/api/v1/systems/{system.pk}/health/", {"status": "unhealthy"}, format="json")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "This system's health source is 'checks': health from 'reported' is refused. "
                  "Change the system's health source first.",
        "health_source": "checks",
    }
    assert log_size() == before
    assert SystemHealth.objects.get(pk=system.pk).status == "healthy"


def test_switching_back_to_reported_accepts_reports_again(admin_api):
    system = make_system()
    system_update(system=system, health_source=HealthSource.CHECKS, actor=ACTOR)
    system_update(system=system, health_source=HealthSource.REPORTED, actor=ACTOR)

    response = admin_api.post(f"/api/v1/systems/{system.pk}/health/", {"status": "degraded"}, format="json")

    assert (response.status_code, response.json()["status"]) == (200, "degraded")


@pytest.mark.parametrize("fields", [{"health_source": "nobody"}, {"health_failure_threshold": 0},
                                    {"health_failure_threshold": 101}, {"health_degraded_latency_ms": 0},
                                    {"health_degraded_latency_ms": 2**31}])
def test_bad_health_policy_is_a_field_error(fields):
    from django.core.exceptions import ValidationError

    system = make_system()
    with pytest.raises(ValidationError) as caught:
        system_update(system=system, actor=ACTOR, **fields)
    assert list(caught.value.message_dict) == list(fields)
    system.refresh_from_db()
    assert (system.health_source, system.health_failure_threshold, system.health_degraded_latency_ms) == (
        "reported", 3, None)
