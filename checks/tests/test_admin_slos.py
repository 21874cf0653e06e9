"""The objectives admin: the services' validator and writes, change events with the admin user as actor."""

import pytest

from automation.models import ChangeEvent
from checks.models import Slo

from .slo_support import checked_system, objective

pytestmark = [pytest.mark.django_db]

ADD = "/admin/checks/slo/add/"


def form(system, **overrides):
    return {"system": str(system.pk), "name": "availability", "target_percent": "99.9", "window_days": "30",
            "indicator": "availability", "latency_threshold_ms": "", **overrides}


def test_add_creates_through_the_service(admin_client):
    system, _ = checked_system()
    response = admin_client.post(ADD, form(system))

    assert response.status_code == 302
    slo = Slo.objects.get()
    assert (slo.name, str(slo.target_percent), slo.window_days) == ("availability", "99.900", 30)
    assert ChangeEvent.objects.get(kind="slo").actor == "user:admin"
    page = admin_client.get(f"/admin/checks/slo/{slo.pk}/change/")
    assert "budget left 100.0 %" in page.content.decode()


@pytest.mark.parametrize("overrides, field, message", [
    ({"window_days": "5"}, "window_days", "Whole days from 7 to 90."),
    ({"indicator": "latency"}, "latency_threshold_ms", "A latency objective needs a threshold from 1 to 600000 ms."),
    ({"name": "taken"}, "name", "This system already has an objective with this name."),
])
def test_bad_config_is_a_form_error_and_saves_nothing(admin_client, overrides, field, message):
    system, _ = checked_system()
    objective(system, "taken")
    response = admin_client.post(ADD, form(system, **overrides))

    assert response.status_code == 200
    assert message in response.context["adminform"].form.errors[field]
    assert Slo.objects.count() == 1


def test_change_and_delete_go_through_the_service(admin_client):
    system, _ = checked_system()
    slo = objective(system)
    response = admin_client.post(f"/admin/checks/slo/{slo.pk}/change/",
                                 form(system, indicator="latency", latency_threshold_ms="300"))
    assert response.status_code == 302
    slo.refresh_from_db()
    assert (slo.indicator, slo.latency_threshold_ms) == ("latency", 300)

    response = admin_client.post("/admin/checks/slo/", {"action": "delete_selected", "_selected_action": [slo.pk],
                                                        "post": "yes"})
    assert response.status_code == 302
    assert not Slo.objects.exists()
    assert ChangeEvent.objects.filter(kind="slo").latest("id").next is None
