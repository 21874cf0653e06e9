"""/api/v1/incidents/ reads: shape, filters, pagination, query counts, 401/403/404."""

import uuid

import pytest

from incidents.models import Incident
from incidents.services import incident_add_update, incident_resolve

from .factories import LIST, UNKNOWN, detail, make_incident, make_system

pytestmark = pytest.mark.django_db


# --- list ------------------------------------------------------------------------------------------


def test_list_shape(admin_api):
    system = make_system()
    incident = make_incident(systems=[system], initial_message="Looking")
    update = incident.updates.get()

    response = admin_api.get(LIST)

    assert response.status_code == 200
    assert response.json()["count"] == 1
    [item] = response.json()["results"]
    assert item == {
        "id": str(incident.pk),
        "title": "API down",
        "description": "",
        "status": "investigating",
        "severity": "major",
        "system_ids": [str(system.pk)],
        "suppress_notifications": False,
        "created_at": incident.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": Incident.objects.get().updated_at.isoformat().replace("+00:00", "Z"),
        "resolved_at": None,
        "updates": [
            {
                "id": str(update.pk),
                "message": "Looking",
                "status_change": "investigating",
                "created_by": "user:tester",
                "created_at": update.created_at.isoformat().replace("+00:00", "Z"),
            }
        ],
    }


def titles(response):
    assert response.status_code == 200, response.content
    return sorted(item["title"] for item in response.json()["results"])


def test_list_filters(admin_api):
    a, b = make_system("a"), make_system("b")
    make_incident(title="minor on a", severity="minor", systems=[a])
    make_incident(title="critical on a and b", severity="critical", systems=[a, b])
    incident_resolve(incident=make_incident(title="resolved on b", systems=[b]), actor="system")

    assert titles(admin_api.get(LIST, {"status": "resolved"})) == ["resolved on b"]
    assert titles(admin_api.get(LIST, {"severity": "critical"})) == ["critical on a and b"]
    assert titles(admin_api.get(LIST, {"system": str(a.pk)})) == ["critical on a and b", "minor on a"]
    assert titles(admin_api.get(LIST, {"open": "true"})) == ["critical on a and b", "minor on a"]
    assert titles(admin_api.get(LIST, {"open": "false"})) == ["resolved on b"]
    assert titles(admin_api.get(LIST, {"open": "true", "system": str(b.pk)})) == ["critical on a and b"]


@pytest.mark.parametrize("params", [{"status": "gone"}, {"severity": "huge"}, {"system": "nope"}])
def test_list_bad_filter_is_400(admin_api, params):
    response = admin_api.get(LIST, params)

    assert response.status_code == 400
    assert set(response.json()) == set(params)


def test_list_paginates_newest_first(admin_api):
    for n in range(3):
        make_incident(title=f"i{n}")

    page = admin_api.get(LIST, {"limit": 2, "offset": 1}).json()

    assert page["count"] == 3
    assert [item["title"] for item in page["results"]] == ["i1", "i0"]
    assert page["previous"] is not None and page["next"] is None


@pytest.mark.parametrize("incidents", [1, 6])
def test_list_query_count_does_not_grow(admin_api, django_assert_num_queries, incidents):
    systems = [make_system(f"s{n}") for n in range(2)]
    for n in range(incidents):
        incident = make_incident(title=f"i{n}", systems=systems, initial_message="first")
        incident_add_update(incident=incident, message="second", actor="system")

    # count, page of incidents, their system links, their updates
    with django_assert_num_queries(4):
        response = admin_api.get(LIST)

    assert len(response.json()["results"]) == incidents
    assert all(len(item["updates"]) == 2 and len(item["system_ids"]) == 2 for item in response.json()["results"])


def test_list_needs_login_and_view_permission(api_client, user_with):
    assert api_client.get(LIST).status_code == 401
    assert user_with().get(LIST).status_code == 403
    assert user_with("view_incident").get(LIST).status_code == 200


# --- get ------------------------------------------------------------------------------------------


def test_get(admin_api):
    incident = make_incident()

    response = admin_api.get(detail(incident))

    assert response.status_code == 200
    assert response.json()["id"] == str(incident.pk)


def test_get_unknown_or_malformed_is_404(admin_api):
    assert admin_api.get(UNKNOWN).status_code == 404
    assert admin_api.get(f"{LIST}not-a-uuid/").status_code == 404


def test_get_needs_login_and_view_permission(api_client, user_with):
    incident = make_incident()
    assert api_client.get(detail(incident)).status_code == 401
    assert user_with("change_incident").get(detail(incident)).status_code == 403


def test_ids_are_uuid_strings(admin_api):
    make_incident()

    item = admin_api.get(LIST).json()["results"][0]

    assert str(uuid.UUID(item["id"])) == item["id"]
