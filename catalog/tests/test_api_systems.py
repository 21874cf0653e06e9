"""systems/ CRUD: shapes, filters, exact writes, and errors that change nothing."""

import uuid

import pytest
from rest_framework.validators import UniqueValidator

from catalog.models import System
from catalog.services import health_report

from .factories import ACTOR, api_as, change_events, log_size, make_system, transition_rows

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

DEFAULT_POLICY = {"group_id": None, "health_source": "reported", "health_failure_threshold": 3,
                  "health_degraded_latency_ms": None}
URL = "/api/v1/systems/"
SYSTEM_PERMS = ("catalog.view_system", "catalog.add_system", "catalog.change_system", "catalog.delete_system")
UNREPORTED = {"status": None, "message": "", "latency_ms": None, "updated_at": None, "impact_status": None,
              "impacted_by": []}


def detail(system_or_id):
    return f"{URL}{getattr(system_or_id, 'pk', system_or_id)}/"


def test_list_shape_with_and_without_health(admin_api):
    api = make_system("api", description="front", metadata={"team": "web"})
    db = make_system("db")
    health = health_report(system=db, status="degraded", message="slow", latency_ms=250, actor=ACTOR)

    response = admin_api.get(URL)

    assert response.status_code == 200
    assert (response.data["count"], response.data["next"], response.data["previous"]) == (2, None, None)
    assert response.json()["results"] == [
        {
            "id": str(api.pk),
            "name": "api",
            "description": "front",
            "metadata": {"team": "web"},
            **DEFAULT_POLICY,
            "health": {"system_id": str(api.pk), **UNREPORTED},
        },
        {
            "id": str(db.pk),
            "name": "db",
            "description": "",
            "metadata": {},
            **DEFAULT_POLICY,
            "health": {
                "system_id": str(db.pk),
                "status": "degraded",
                "message": "slow",
                "latency_ms": 250,
                "updated_at": health.updated_at.isoformat().replace("+00:00", "Z"),
                "impact_status": "degraded",
                "impacted_by": [],
            },
        },
    ]


def test_list_filters_by_name_and_health_status(admin_api):
    make_system("api")
    db = make_system("db")
    cache = make_system("cache")
    health_report(system=db, status="degraded", actor=ACTOR)
    health_report(system=cache, status="healthy", actor=ACTOR)

    def names(query):
        response = admin_api.get(URL + query)
        assert response.status_code == 200
        return [s["name"] for s in response.data["results"]]

    assert names("?name=db") == ["db"]
    assert names("?health_status=degraded") == ["db"]
    assert names("?health_status=healthy") == ["cache"]
    assert names("?health_status=null") == ["api"]
    assert names("?health_status=unhealthy") == []
    assert admin_api.get(URL + "?health_status=sick").status_code == 400


def test_list_query_count_does_not_grow_with_systems(admin_api, django_assert_num_queries):
    for index in range(5):
        system = make_system(f"s{index}")
        health_report(system=system, status="healthy", actor=ACTOR)

    # One count, one page with health joined in.
    with django_assert_num_queries(2):
        response = admin_api.get(URL)
    assert len(response.data["results"]) == 5


def test_retrieve(admin_api):
    system = make_system("api")

    response = admin_api.get(detail(system))

    assert response.status_code == 200
    assert response.json() == {
        "id": str(system.pk),
        "name": "api",
        "description": "",
        "metadata": {},
        **DEFAULT_POLICY,
        "health": {"system_id": str(system.pk), **UNREPORTED},
    }


def test_create_writes_through_the_service_as_the_user(admin_api):
    response = admin_api.post(
        URL, {"name": "api", "description": "front", "metadata": {"tier": 1}}, format="json"
    )

    assert response.status_code == 201
    system = System.objects.get()
    assert response.json() == {
        "id": str(system.pk),
        "name": "api",
        "description": "front",
        "metadata": {"tier": 1},
        **DEFAULT_POLICY,
        "health": {"system_id": str(system.pk), **UNREPORTED},
    }
    assert transition_rows(system.pk) == [
        ("system", "description", None, "front", "user:admin"),
        ("system", "group_id", None, None, "user:admin"),
        ("system", "metadata", None, {"tier": 1}, "user:admin"),
        ("system", "name", None, "api", "user:admin"),
    ]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "taken"}, "name"),
        ({"name": ""}, "name"),
        ({"description": "no name"}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "bad\x00name"}, "name"),
        ({"name": "x", "metadata": ["not", "an", "object"]}, "metadata"),
        ({"name": "x", "metadata": {"k": "nul\x00"}}, "metadata"),
    ],
)
def test_create_with_bad_input_is_400_and_writes_nothing(admin_api, body, field):
    make_system("taken")
    before = log_size()

    response = admin_api.post(URL, body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert log_size() == before
    assert System.objects.count() == 1


def test_duplicate_name_message(admin_api):
    make_system("taken")

    response = admin_api.post(URL, {"name": "taken"}, format="json")

    assert response.json() == {"name": ["A system with this name already exists."]}


def test_name_taken_by_a_concurrent_request_is_400_not_500(admin_api, monkeypatch):
    # The race: the name was free when validated, then another request committed it first.
    make_system("taken")
    monkeypatch.setattr(UniqueValidator, "__call__", lambda self, value, field: None)
    before = log_size()

    response = admin_api.post(URL, {"name": "taken"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"name": ["A system with this name already exists."]}
    assert log_size() == before


def test_patch_changes_only_given_fields(admin_api):
    system = make_system("api", description="old", metadata={"a": 1})

    response = admin_api.patch(detail(system), {"description": "new"}, format="json")

    assert response.status_code == 200
    assert response.json()["description"] == "new" and response.json()["metadata"] == {"a": 1}
    assert transition_rows(system.pk)[4:] == [("system", "description", "old", "new", "user:admin")]


def test_put_replaces_the_system(admin_api):
    system = make_system("api", description="old", metadata={"a": 1})

    response = admin_api.put(detail(system), {"name": "api-v2", "description": "", "metadata": {}}, format="json")

    assert response.status_code == 200
    assert System.objects.values_list("name", "description", "metadata").get() == ("api-v2", "", {})
    event = change_events(system.pk)[-1]
    assert event.changed_fields == ["description", "metadata", "name"]
    assert event.actor == "user:admin"


def test_patch_with_unchanged_values_writes_nothing(admin_api):
    system = make_system("api", metadata={"a": 1, "b": 2})
    before = log_size()

    response = admin_api.patch(detail(system), {"name": "api", "metadata": {"b": 2, "a": 1}}, format="json")

    assert response.status_code == 200
    assert log_size() == before


def test_patch_to_a_taken_name_is_400_and_writes_nothing(admin_api):
    make_system("taken")
    system = make_system("api")
    before = log_size()

    response = admin_api.patch(detail(system), {"name": "taken", "description": "x"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"name": ["A system with this name already exists."]}
    assert log_size() == before
    assert System.objects.get(pk=system.pk).description == ""


def test_delete_writes_tombstones(admin_api):
    system = make_system("api")
    health_report(system=system, status="healthy", actor=ACTOR)

    response = admin_api.delete(detail(system))

    assert response.status_code == 204
    assert not System.objects.exists()
    assert [(e.kind, e.next, e.actor) for e in change_events(system.pk)[-2:]] == [
        ("health", None, "user:admin"),
        ("system", None, "user:admin"),
    ]


@pytest.mark.parametrize("method", ["get", "patch", "put", "delete"])
def test_unknown_or_malformed_id_is_404(admin_api, method):
    # A dotted id used to miss the router's pattern and get Django's HTML 404 instead of DRF's JSON one.
    for system_id in (uuid.uuid4(), "not-a-uuid", "1.5"):
        response = getattr(admin_api, method)(detail(system_id), {"name": "x"}, format="json")
        assert response.status_code == 404
        assert list(response.json()) == ["detail"]


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("get", "list", None),
        ("post", "list", {"name": "new"}),
        ("get", "detail", None),
        ("patch", "detail", {"name": "renamed"}),
        ("put", "detail", {"name": "renamed"}),
        ("delete", "detail", None),
    ],
)
def test_anonymous_is_401_and_writes_nothing(api_client, method, path, body):
    system = make_system("api")
    before = log_size()

    response = getattr(api_client, method)(URL if path == "list" else detail(system), body, format="json")

    assert response.status_code == 401
    assert log_size() == before


@pytest.mark.parametrize(
    "method, path, body, needed",
    [
        ("get", "list", None, "catalog.view_system"),
        ("get", "detail", None, "catalog.view_system"),
        ("post", "list", {"name": "new"}, "catalog.add_system"),
        ("patch", "detail", {"name": "renamed"}, "catalog.change_system"),
        ("put", "detail", {"name": "renamed"}, "catalog.change_system"),
        ("delete", "detail", None, "catalog.delete_system"),
    ],
)
def test_missing_model_permission_is_403_and_the_permission_suffices(method, path, body, needed):
    system = make_system("api")
    url = URL if path == "list" else detail(system)
    # Every system permission but the one the method needs.
    others = [p for p in SYSTEM_PERMS if p != needed]
    before = log_size()

    denied = getattr(api_as("without", *others), method)(url, body, format="json")

    assert denied.status_code == 403
    assert log_size() == before
    allowed = getattr(api_as("with", needed), method)(url, body, format="json")
    assert allowed.status_code in (200, 201, 204)
