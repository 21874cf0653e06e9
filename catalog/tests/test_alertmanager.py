"""POST /api/v1/integrations/alertmanager/: Alertmanager's alerts become system health."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from catalog.alertmanager import alerts_health
from catalog.models import HealthSource, SystemHealth
from catalog.services import health_report, system_update

from .factories import ACTOR, api_as, change_events, log_size, make_system, make_user

URL = "/api/v1/integrations/alertmanager/"


def alert(status, system, **labels):
    summary = labels.pop("summary", None)
    annotations = {"summary": summary} if summary else {}
    return {"status": status, "labels": {"alertname": "Probe", "checkstack_system": system, **labels},
            "annotations": annotations, "startsAt": "2026-12-05T07:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph", "fingerprint": "c0ffee"}


def payload(*alerts, status="firing"):
    return {"version": "4", "groupKey": "{}:{}", "truncatedAlerts": 0, "status": status, "receiver": "checkstack",
            "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am:9093",
            "alerts": list(alerts)}


def health(system):
    row = SystemHealth.objects.get(pk=system.pk)
    return row.status, row.message


def test_pure_rule_worst_firing_severity_wins_and_resolved_alone_is_healthy():
    result = alerts_health([
        alert("firing", "a", severity="warning", summary="slow"),
        alert("firing", "b", severity="warning", summary="slow"),
        alert("firing", "b", severity="critical", summary="down"),
        alert("resolved", "c", summary="was down"),
        alert("resolved", "d", summary="x"),
        alert("firing", "d", severity="info", summary="noisy"),
        {"status": "firing", "labels": {"alertname": "NoSystem"}},
    ])

    assert {label: (h.status, h.message) for label, h in result.items()} == {
        "a": ("degraded", "slow"),
        "b": ("unhealthy", "down"),
        "c": ("healthy", "Resolved: was down"),
        "d": ("degraded", "noisy"),
    }


@pytest.mark.django_db
@pytest.mark.postgres
def test_firing_then_resolved_sets_health_by_name_or_id(admin_api):
    web, db = make_system("web"), make_system("db")

    fired = admin_api.post(URL, payload(alert("firing", "web", severity="critical", summary="5xx above 5%"),
                                        alert("firing", str(db.pk), severity="warning", summary="replica lag")),
                           format="json")

    assert fired.status_code == 200, fired.json()
    assert sorted(fired.json()["updated"], key=lambda row: row["name"]) == [
        {"system": str(db.pk), "name": "db", "status": "degraded"},
        {"system": str(web.pk), "name": "web", "status": "unhealthy"},
    ]
    assert (fired.json()["conflicts"], fired.json()["unknown"], fired.json()["ignored"]) == ([], [], 0)
    assert health(web) == ("unhealthy", "5xx above 5%")
    assert health(db) == ("degraded", "replica lag")
    assert change_events(web.pk, kind="health")[-1].actor == "user:admin"

    resolved = admin_api.post(URL, payload(alert("resolved", "web", summary="5xx above 5%"), status="resolved"),
                              format="json")

    assert resolved.status_code == 200
    assert health(web) == ("healthy", "Resolved: 5xx above 5%")
    assert health(db) == ("degraded", "replica lag")  # not in this payload: unchanged


@pytest.mark.django_db
def test_resolved_alert_does_not_clear_a_system_another_alert_still_fires_for(admin_api):
    web = make_system("web")

    admin_api.post(URL, payload(alert("resolved", "web", alertname="Latency"),
                                alert("firing", "web", alertname="Errors", summary="errors")), format="json")

    assert health(web) == ("unhealthy", "errors")


@pytest.mark.django_db
def test_the_same_alert_again_writes_no_new_change(admin_api):
    make_system("web")
    body = payload(alert("firing", "web", summary="down"))
    admin_api.post(URL, body, format="json")
    before = log_size()

    again = admin_api.post(URL, body, format="json")

    assert again.status_code == 200
    assert log_size() == before


@pytest.mark.django_db
@pytest.mark.postgres
def test_unknown_systems_and_checks_managed_ones_are_reported_back_the_rest_applied(admin_api):
    web, managed = make_system("web"), make_system("managed")
    health_report(system=managed, status="healthy", actor=ACTOR)
    system_update(system=managed, health_source=HealthSource.CHECKS, actor=ACTOR)

    response = admin_api.post(URL, payload(alert("firing", "web"), alert("firing", "managed"),
                                           alert("firing", "ghost"), {"status": "firing", "labels": {}}),
                              format="json")

    assert response.status_code == 207
    assert response.json() == {
        "updated": [{"system": str(web.pk), "name": "web", "status": "unhealthy"}],
        "conflicts": [{"system": str(managed.pk), "name": "managed", "health_source": "checks"}],
        "unknown": ["ghost"],
        "ignored": 1,
    }
    assert health(web) == ("unhealthy", "Probe")
    assert health(managed) == ("healthy", "")


@pytest.mark.django_db
@pytest.mark.parametrize("body, field", [
    ({}, "alerts"),
    ({"alerts": "many"}, "alerts"),
    ({"alerts": [{"status": "burning", "labels": {}}]}, "alerts"),
    ({"alerts": [{"status": "firing"}]}, "alerts"),
    ({"alerts": [{"status": "firing", "labels": {"checkstack_system": ["web"]}}]}, "alerts"),
    ({"alerts": [{"status": "firing", "labels": {"checkstack_system": "web\x00"}}]}, "alerts"),
    ({"version": "3", "alerts": []}, "version"),
    ({"alerts": [{"status": "firing", "labels": {"checkstack_system": "web"}}] * 1001}, "alerts"),
])
def test_a_malformed_payload_is_a_400_with_field_errors_and_writes_nothing(admin_api, body, field):
    make_system("web")
    before = log_size()

    response = admin_api.post(URL, body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert log_size() == before
    assert not SystemHealth.objects.exists()


@pytest.mark.django_db
def test_needs_a_token_with_the_health_report_permission():
    web = make_system("web")
    anonymous = APIClient().post(URL, payload(alert("firing", "web")), format="json")
    viewer = api_as("viewer", "catalog.view_system", "catalog.view_systemhealth").post(
        URL, payload(alert("firing", "web")), format="json")
    token = Token.objects.create(user=make_user("alertmanager", "catalog.change_systemhealth"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    assert (anonymous.status_code, viewer.status_code) == (401, 403)
    assert not SystemHealth.objects.exists()
    assert client.post(URL, payload(alert("firing", "web")), format="json").status_code == 200
    assert health(web) == ("unhealthy", "Probe")
