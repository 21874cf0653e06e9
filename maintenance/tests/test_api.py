"""The /api/v1/maintenances/ endpoints: shapes, exact writes, and nothing written on refusal."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission

from maintenance.models import MaintenanceUpdate, MaintenanceWindow
from maintenance.services import maintenance_add_update

from .factories import T0, T0_ISO, T2H_ISO, events, log_counts, make_system, make_window, transitions

pytestmark = pytest.mark.django_db
LIST = "/api/v1/maintenances/"
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def detail(window_id, suffix=""):
    return f"{LIST}{window_id}/{suffix}"


@pytest.fixture
def user_api(api_client, django_user_model):
    """An API client for a user holding only the given maintenance-window permissions."""

    def make(*codenames):
        user = django_user_model.objects.create_user("operator")  # no password: hashing is slow
        user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
        api_client.force_authenticate(user)
        return api_client

    return make


def body(**overrides):
    return {"title": "DB upgrade", "start_at": T0_ISO, "end_at": T2H_ISO, **overrides}


def test_create_returns_the_window_and_records_it(admin_api):
    api = make_system("api")

    response = admin_api.post(LIST, body(system_ids=[str(api.pk)], description="v16"), format="json")

    assert response.status_code == 201
    data = response.json()
    window = MaintenanceWindow.objects.get()
    assert data == {
        "id": str(window.pk),
        "title": "DB upgrade",
        "description": "v16",
        "status": "scheduled",
        "system_ids": [str(api.pk)],
        "start_at": T0_ISO,
        "end_at": T2H_ISO,
        "suppress_notifications": False,
        "created_at": data["created_at"],
        "updated_at": data["updated_at"],
        "updates": [],
    }
    assert data["created_at"].endswith("Z")
    assert transitions(window.pk) == [
        ("end_at", None, T2H_ISO, "user:admin"),
        ("start_at", None, T0_ISO, "user:admin"),
        ("status", None, "scheduled", "user:admin"),
        ("system_ids", None, [str(api.pk)], "user:admin"),
    ]


@pytest.mark.parametrize(
    "payload, errors",
    [
        (body(end_at=T0_ISO), {"end_at": ["End must be after start."]}),
        (body(end_at="2026-12-01T08:00:00Z"), {"end_at": ["End must be after start."]}),
        (body(title=""), {"title": ["This field may not be blank."]}),
        ({"title": "x"}, {"start_at": ["This field is required."], "end_at": ["This field is required."]}),
        (body(status="paused"), {"status": ['"paused" is not a valid choice.']}),
        (body(system_ids=["nope"]), {"system_ids": {"0": ["Must be a valid UUID."]}}),
        (body(system_ids=[UNKNOWN]), {"system_ids": [f"Unknown system id(s): {UNKNOWN}."]}),
    ],
)
def test_create_refuses_bad_input_and_writes_nothing(admin_api, payload, errors):
    before = log_counts()

    response = admin_api.post(LIST, payload, format="json")

    assert response.status_code == 400
    assert response.json() == errors
    assert MaintenanceWindow.objects.count() == 0
    assert log_counts() == before


def test_list_shape_filters_and_pinned_query_count(admin_api, django_assert_num_queries):
    api, db = make_system("api"), make_system("db")
    first = make_window(systems=[api], start_at=T0)
    second = make_window(systems=[api, db], start_at=T0 + timedelta(days=1), status="in_progress")
    done = make_window(systems=[db], start_at=T0 - timedelta(days=1), status="completed")
    maintenance_add_update(window=first, message="heads-up", actor="user:ann")

    # count, windows, their system links, their updates: the same however many windows there are.
    with django_assert_num_queries(4):
        response = admin_api.get(LIST)
    data = response.json()
    assert response.status_code == 200
    assert data["count"] == 3
    assert [w["id"] for w in data["results"]] == [str(second.pk), str(first.pk), str(done.pk)]
    assert data["results"][0]["system_ids"] == sorted([str(api.pk), str(db.pk)])
    assert [(u["message"], u["created_by"]) for u in data["results"][1]["updates"]] == [("heads-up", "user:ann")]
    extra = [make_window(systems=[api, db]) for _ in range(3)]
    with django_assert_num_queries(4):
        assert admin_api.get(LIST).json()["count"] == 6

    def ids(query):
        return {w["id"] for w in admin_api.get(LIST + query).json()["results"]}

    assert ids("?status=completed") == {str(done.pk)}
    assert ids(f"?system={db.pk}&open=true") == {str(w.pk) for w in [second, *extra]}
    assert ids(f"?system={db.pk}") == {str(w.pk) for w in [second, done, *extra]}
    assert ids("?open=false") == {str(done.pk)}


@pytest.mark.parametrize("query", ["?status=paused", "?system=nope"])
def test_list_refuses_bad_filters(admin_api, query):
    response = admin_api.get(LIST + query)
    assert response.status_code == 400
    assert list(response.json()) == [query[1:].split("=")[0]]


def test_get_returns_one_window_and_404s_unknown_ids(admin_api):
    window = make_window()

    assert admin_api.get(detail(window.pk)).json()["id"] == str(window.pk)
    assert admin_api.get(detail(UNKNOWN)).status_code == 404
    assert admin_api.get(detail("not-a-uuid")).status_code == 404


def test_patch_updates_fields_and_systems(admin_api):
    api = make_system("api")
    window = make_window()

    response = admin_api.patch(
        detail(window.pk), {"end_at": "2026-12-01T12:00:00Z", "system_ids": [str(api.pk)]}, format="json"
    )

    assert response.status_code == 200
    assert (response.json()["end_at"], response.json()["system_ids"]) == ("2026-12-01T12:00:00Z", [str(api.pk)])
    assert response.json()["title"] == "Database upgrade"  # absent fields keep their values
    assert transitions(window.pk)[-2:] == [
        ("end_at", T2H_ISO, "2026-12-01T12:00:00Z", "user:admin"),
        ("system_ids", [], [str(api.pk)], "user:admin"),
    ]


@pytest.mark.parametrize(
    "payload, errors",
    [
        # Only the start is sent: it is checked against the stored end.
        ({"start_at": "2026-12-01T11:30:00Z"}, {"end_at": ["End must be after start."]}),
        ({"status": "paused"}, {"status": ['"paused" is not a valid choice.']}),
        ({"title": None}, {"title": ["This field may not be null."]}),
        ({"system_ids": [UNKNOWN]}, {"system_ids": [f"Unknown system id(s): {UNKNOWN}."]}),
    ],
)
def test_patch_refuses_bad_input_and_writes_nothing(admin_api, payload, errors):
    window = make_window()
    before = log_counts()

    response = admin_api.patch(detail(window.pk), payload, format="json")

    assert response.status_code == 400
    assert response.json() == errors
    assert log_counts() == before
    assert MaintenanceWindow.objects.get(pk=window.pk).start_at == T0


def test_put_is_not_offered(admin_api):
    window = make_window()
    assert admin_api.put(detail(window.pk), body(), format="json").status_code == 405


def test_delete_writes_a_tombstone(admin_api):
    window = make_window()

    assert admin_api.delete(detail(window.pk)).status_code == 204

    assert not MaintenanceWindow.objects.exists()
    tombstone = events(window.pk)[-1]
    assert (tombstone.next, tombstone.actor) == (None, "user:admin")
    assert admin_api.delete(detail(window.pk)).status_code == 404


def test_post_update_with_a_status_change(admin_api):
    window = make_window()

    response = admin_api.post(
        detail(window.pk, "updates/"), {"message": "Started", "status_change": "in_progress"}, format="json"
    )

    assert response.status_code == 201
    data = response.json()
    assert data["status"] == "in_progress"
    [update] = data["updates"]
    assert (update["message"], update["status_change"], update["created_by"]) == (
        "Started",
        "in_progress",
        "user:admin",
    )
    assert transitions(window.pk)[-1] == ("status", "scheduled", "in_progress", "user:admin")


def test_post_comment_only_update_changes_no_state(admin_api):
    window = make_window()
    before = log_counts()

    response = admin_api.post(detail(window.pk, "updates/"), {"message": "FYI"}, format="json")

    assert response.status_code == 201
    assert [u["status_change"] for u in response.json()["updates"]] == [None]
    assert log_counts() == before


@pytest.mark.parametrize(
    "payload, errors",
    [
        ({}, {"message": ["This field is required."]}),
        ({"message": ""}, {"message": ["This field may not be blank."]}),
        ({"message": "x", "status_change": "paused"}, {"status_change": ['"paused" is not a valid choice.']}),
    ],
)
def test_post_update_refuses_bad_input(admin_api, payload, errors):
    window = make_window()
    before = log_counts()

    response = admin_api.post(detail(window.pk, "updates/"), payload, format="json")

    assert (response.status_code, response.json()) == (400, errors)
    assert (MaintenanceUpdate.objects.count(), log_counts()) == (0, before)


def test_close_completes_with_a_default_or_given_message(admin_api):
    first, second = make_window(), make_window()

    plain = admin_api.post(detail(first.pk, "close/"), {}, format="json")
    worded = admin_api.post(detail(second.pk, "close/"), {"message": "All done"}, format="json")

    assert (plain.status_code, worded.status_code) == (200, 200)
    assert plain.json()["status"] == "completed"
    assert [u["message"] for u in plain.json()["updates"]] == ["Maintenance completed"]
    assert [u["message"] for u in worded.json()["updates"]] == ["All done"]
    assert transitions(first.pk)[-1] == ("status", "scheduled", "completed", "user:admin")


def test_close_refuses_a_non_string_message(admin_api):
    window = make_window()
    before = log_counts()

    response = admin_api.post(detail(window.pk, "close/"), {"message": ["x"]}, format="json")

    assert (response.status_code, response.json()) == (400, {"message": ["Not a valid string."]})
    assert log_counts() == before


@pytest.mark.parametrize("suffix", ["updates/", "close/"])
def test_actions_on_unknown_windows_404(admin_api, suffix):
    assert admin_api.post(detail(UNKNOWN, suffix), {"message": "x"}, format="json").status_code == 404


def test_anonymous_gets_401_everywhere(api_client):
    window = make_window()
    calls = [
        ("get", LIST),
        ("post", LIST),
        ("get", detail(window.pk)),
        ("patch", detail(window.pk)),
        ("delete", detail(window.pk)),
        ("post", detail(window.pk, "updates/")),
        ("post", detail(window.pk, "close/")),
    ]
    before = log_counts()

    for method, url in calls:
        assert getattr(api_client, method)(url, {"message": "x"}, format="json").status_code == 401, (method, url)
    assert log_counts() == before


def test_each_endpoint_needs_its_model_permission(user_api):
    window = make_window()
    client = user_api("view_maintenancewindow")
    before = log_counts()

    assert client.get(LIST).status_code == 200
    assert client.get(detail(window.pk)).status_code == 200
    assert client.post(LIST, body(), format="json").status_code == 403
    assert client.patch(detail(window.pk), {"title": "x"}, format="json").status_code == 403
    assert client.delete(detail(window.pk)).status_code == 403
    assert client.post(detail(window.pk, "updates/"), {"message": "x"}, format="json").status_code == 403
    assert client.post(detail(window.pk, "close/"), {}, format="json").status_code == 403
    assert log_counts() == before
    assert MaintenanceWindow.objects.get(pk=window.pk).title == "Database upgrade"


def test_add_permission_alone_cannot_post_updates(user_api):
    window = make_window()
    client = user_api("view_maintenancewindow", "add_maintenancewindow")

    assert client.post(detail(window.pk, "close/"), {}, format="json").status_code == 403
    assert client.post(LIST, body(), format="json").status_code == 201


def test_change_permission_allows_updates_and_close(user_api):
    window = make_window()
    client = user_api("view_maintenancewindow", "change_maintenancewindow")

    assert client.post(detail(window.pk, "updates/"), {"message": "x"}, format="json").status_code == 201
    assert client.post(detail(window.pk, "close/"), {}, format="json").status_code == 200
    assert transitions(window.pk)[-1] == ("status", "scheduled", "completed", "user:operator")


def test_without_view_permission_reads_are_forbidden(user_api):
    client = user_api()
    assert client.get(LIST).status_code == 403
