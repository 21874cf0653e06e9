"""GET /api/v1/transitions/: the field-level change log, filtered, newest first, values as JSON."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from automation.models import Transition
from catalog.services import health_report, system_create, system_update

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

URL = "/api/v1/transitions/"
T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def transition(*, minutes, kind="system", entity_id="e1", field="name", from_value=None, to_value=None):
    # The log is append-only and untracked: rows with chosen times test the ordering exactly.
    return Transition.objects.create(
        kind=kind,
        entity_id=entity_id,
        field=field,
        from_value=from_value,
        to_value=to_value,
        at=T0 + timedelta(minutes=minutes),
        actor="user:ann",
        change_id=uuid.uuid4(),
    )


def listed(client, query=""):
    response = client.get(URL + query)
    assert response.status_code == 200
    return response.json()


def test_shape_and_json_values_with_null_for_absent(admin_api):
    row = transition(minutes=0, field="metadata", from_value=None, to_value={"tier": 1, "tags": ["a"], "on": True})

    body = listed(admin_api)

    assert body == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [
            {
                "kind": "system",
                "entity_id": "e1",
                "field": "metadata",
                "from_value": None,
                "to_value": {"tier": 1, "tags": ["a"], "on": True},
                "at": "2026-11-22T09:00:00Z",
                "actor": "user:ann",
                "change_id": str(row.change_id),
            }
        ],
    }


def test_values_written_by_a_service_round_trip_as_json(admin_api):
    system = system_create(name="api", metadata={"n": 1}, actor="user:ann")
    health_report(system=system, status="degraded", latency_ms=42, actor="user:ann")

    results = listed(admin_api, f"?kind=health&entity_id={system.pk}")["results"]

    assert sorted((r["field"], r["from_value"], r["to_value"]) for r in results) == [
        ("latency_ms", None, 42),
        ("message", None, ""),
        ("status", None, "degraded"),
    ]


def test_newest_first_by_time_then_id(admin_api):
    # Inserted out of time order: ids alone would give the wrong order.
    late = transition(minutes=10, field="late")
    early = transition(minutes=1, field="early")
    tie_a = transition(minutes=5, field="tie_a")
    tie_b = transition(minutes=5, field="tie_b")

    fields = [r["field"] for r in listed(admin_api)["results"]]

    assert fields == [late.field, tie_b.field, tie_a.field, early.field]


def test_filters_kind_entity_and_field(admin_api):
    transition(minutes=1, kind="system", entity_id="s1", field="name")
    transition(minutes=2, kind="system", entity_id="s1", field="description")
    transition(minutes=3, kind="system", entity_id="s2", field="name")
    transition(minutes=4, kind="health", entity_id="s1", field="status")

    def keys(query):
        return [(r["kind"], r["entity_id"], r["field"]) for r in listed(admin_api, query)["results"]]

    assert keys("?kind=health") == [("health", "s1", "status")]
    assert keys("?entity_id=s1") == [
        ("health", "s1", "status"),
        ("system", "s1", "description"),
        ("system", "s1", "name"),
    ]
    assert keys("?kind=system&entity_id=s1&field=name") == [("system", "s1", "name")]
    assert keys("?kind=incident") == []


def test_filter_by_change_id_and_bad_change_id(admin_api):
    system = system_create(name="api", actor="user:ann")
    system_update(system=system, name="api-v2", actor="user:bob")
    change_id = Transition.objects.get(actor="user:bob").change_id

    assert [r["to_value"] for r in listed(admin_api, f"?change_id={change_id}")["results"]] == ["api-v2"]
    response = admin_api.get(URL + "?change_id=not-a-uuid")
    assert response.status_code == 400
    assert list(response.json()) == ["change_id"]


def test_paginated_with_limit_and_offset(admin_api):
    for minute in range(5):
        transition(minutes=minute, field=f"f{minute}")

    first = listed(admin_api, "?limit=2")
    second = listed(admin_api, "?limit=2&offset=2")

    assert first["count"] == 5
    assert [r["field"] for r in first["results"]] == ["f4", "f3"]
    assert [r["field"] for r in second["results"]] == ["f2", "f1"]
    assert first["next"].endswith("?limit=2&offset=2")


def test_query_count_does_not_grow_with_rows(admin_api, django_assert_num_queries):
    for minute in range(20):
        transition(minutes=minute)

    with django_assert_num_queries(2):  # the count and the page
        response = admin_api.get(URL)
    assert len(response.json()["results"]) == 20


def test_retrieve_of_an_unknown_or_malformed_id_is_a_json_404(admin_api):
    # A dotted id used to miss the router's pattern and get Django's HTML 404 instead of DRF's JSON one.
    for transition_id in ("999", "abc", "1.5"):
        response = admin_api.get(f"{URL}{transition_id}/")
        assert response.status_code == 404
        assert list(response.json()) == ["detail"]


def test_anonymous_is_401(api_client):
    transition(minutes=0)
    assert api_client.get(URL).status_code == 401


def test_needs_view_transition():
    transition(minutes=0)
    user = get_user_model().objects.create_user("viewer")
    client = APIClient()
    client.force_authenticate(user)

    assert client.get(URL).status_code == 403

    user.user_permissions.add(Permission.objects.get(content_type__app_label="automation", codename="view_transition"))
    client.force_authenticate(get_user_model().objects.get(pk=user.pk))  # fresh permission cache
    assert listed(client)["count"] == 1


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_read_only(admin_api, method):
    row = transition(minutes=0)
    path = URL if method == "post" else f"{URL}{row.pk}/"

    response = getattr(admin_api, method)(path, {"field": "x"}, format="json")

    assert response.status_code == 405
    assert Transition.objects.get().field == "name"
