"""/api/v1/incidents/ writes: each through its service, and 400/401/403/404 writing nothing."""

import pytest

from incidents.models import Incident, IncidentUpdate

from .factories import LIST, UNKNOWN, change_events, detail, make_incident, make_system, transitions_of, written

pytestmark = pytest.mark.django_db


# --- create ----------------------------------------------------------------------------------------


def test_create(admin_api):
    a, b = make_system("a"), make_system("b")

    response = admin_api.post(
        LIST,
        {
            "title": "Checkout failing",
            "description": "5xx",
            "severity": "critical",
            "system_ids": [str(b.pk), str(a.pk), str(a.pk)],
            "initial_message": "We are investigating",
            "suppress_notifications": True,
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    incident = Incident.objects.get()
    assert body["id"] == str(incident.pk)
    assert (body["title"], body["description"], body["status"], body["severity"]) == (
        "Checkout failing",
        "5xx",
        "investigating",
        "critical",
    )
    assert body["system_ids"] == sorted([str(a.pk), str(b.pk)])
    assert body["suppress_notifications"] is True
    assert [(u["message"], u["status_change"], u["created_by"]) for u in body["updates"]] == [
        ("We are investigating", "investigating", "user:admin")
    ]
    [event] = change_events(incident)
    assert event.actor == "user:admin"
    assert transitions_of(event)["severity"] == (None, "critical", "user:admin")


def test_create_with_defaults(admin_api):
    response = admin_api.post(LIST, {"title": "Slow", "system_ids": []}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert (body["severity"], body["description"], body["updates"], body["suppress_notifications"]) == (
        "major",
        "",
        [],
        False,
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"system_ids": []}, "title"),
        ({"title": "x"}, "system_ids"),
        ({"title": "", "system_ids": []}, "title"),
        ({"title": "x" * 201, "system_ids": []}, "title"),
        ({"title": "x", "system_ids": [], "severity": "apocalyptic"}, "severity"),
        ({"title": "x", "system_ids": ["not-a-uuid"]}, "system_ids"),
        ({"title": "x", "system_ids": ["8d6a4c1e-0000-4000-8000-000000000000"]}, "system_ids"),
        ({"title": "x", "system_ids": "abc"}, "system_ids"),
    ],
)
def test_create_bad_input_is_400_and_writes_nothing(admin_api, body, field):
    make_system()
    before = written()

    response = admin_api.post(LIST, body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert written() == before


def test_create_needs_login_and_add_permission(api_client, user_with):
    body = {"title": "x", "system_ids": []}
    assert api_client.post(LIST, body, format="json").status_code == 401
    assert user_with("view_incident", "change_incident").post(LIST, body, format="json").status_code == 403
    assert Incident.objects.count() == 0
    assert user_with("add_incident").post(LIST, body, format="json").status_code == 201


# --- patch / delete -----------------------------------------------------------------------------


def test_patch(admin_api):
    a, b = make_system("a"), make_system("b")
    incident = make_incident(systems=[a])

    response = admin_api.patch(
        detail(incident), {"status": "resolved", "system_ids": [str(b.pk)], "title": "Renamed"}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["title"], body["status"], body["system_ids"]) == ("Renamed", "resolved", [str(b.pk)])
    assert body["resolved_at"] is not None
    assert transitions_of(change_events(incident)[-1]) == {
        "status": ("investigating", "resolved", "user:admin"),
        "system_ids": ([str(a.pk)], [str(b.pk)], "user:admin"),
    }


@pytest.mark.parametrize(
    "body",
    [
        {"status": "gone"},
        {"severity": "huge"},
        {"title": ""},
        {"title": None},
        {"system_ids": ["8d6a4c1e-0000-4000-8000-000000000000"]},
        {"severity": "minor", "system_ids": ["not-a-uuid"]},
    ],
)
def test_patch_bad_input_is_400_and_writes_nothing(admin_api, body):
    incident = make_incident()
    before = written()

    response = admin_api.patch(detail(incident), body, format="json")

    assert response.status_code == 400
    assert set(response.json()) & set(body)
    assert written() == before


def test_patch_needs_login_change_permission_and_a_real_incident(admin_api, api_client, user_with):
    incident = make_incident()
    assert admin_api.patch(UNKNOWN, {"severity": "minor"}, format="json").status_code == 404
    admin_api.force_authenticate(None)
    assert api_client.patch(detail(incident), {"severity": "minor"}, format="json").status_code == 401
    assert user_with("view_incident").patch(detail(incident), {"severity": "minor"}, format="json").status_code == 403
    assert Incident.objects.get().severity == "major"


def test_delete(admin_api):
    incident = make_incident()

    response = admin_api.delete(detail(incident))

    assert response.status_code == 204
    assert not Incident.objects.exists()
    tombstone = change_events(incident)[-1]
    assert (tombstone.next, tombstone.actor) == (None, "user:admin")


def test_delete_needs_login_delete_permission_and_a_real_incident(admin_api, api_client, user_with):
    incident = make_incident()
    assert admin_api.delete(UNKNOWN).status_code == 404
    admin_api.force_authenticate(None)
    assert api_client.delete(detail(incident)).status_code == 401
    assert user_with("view_incident", "change_incident").delete(detail(incident)).status_code == 403
    assert Incident.objects.exists()


def test_put_is_not_offered(admin_api):
    incident = make_incident()

    assert admin_api.put(detail(incident), {"title": "x"}, format="json").status_code == 405


# --- updates / resolve ----------------------------------------------------------------------------


def test_post_update_with_status_change(admin_api):
    incident = make_incident(initial_message="first")

    response = admin_api.post(detail(incident, "updates/"), {"message": "Found it", "status_change": "identified"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "identified"
    assert [(u["message"], u["status_change"], u["created_by"]) for u in body["updates"]] == [
        ("Found it", "identified", "user:admin"),
        ("first", "investigating", "user:tester"),
    ]
    assert transitions_of(change_events(incident)[-1]) == {"status": ("investigating", "identified", "user:admin")}


def test_post_comment_only_update_emits_no_change(admin_api):
    incident = make_incident()

    body = {"message": "Still looking", "status_change": None}

    response = admin_api.post(detail(incident, "updates/"), body, format="json")

    assert response.status_code == 201
    assert response.json()["status"] == "investigating"
    assert [u["status_change"] for u in response.json()["updates"]] == [None]
    assert len(change_events(incident)) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "message"), ({"message": ""}, "message"), ({"message": "x", "status_change": "gone"}, "status_change")],
)
def test_post_update_bad_input_is_400_and_writes_nothing(admin_api, body, field):
    incident = make_incident()
    before = written()

    response = admin_api.post(detail(incident, "updates/"), body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert written() == before


def test_post_update_needs_login_change_permission_and_a_real_incident(admin_api, api_client, user_with):
    incident = make_incident()
    body = {"message": "hi"}
    assert admin_api.post(f"{UNKNOWN}updates/", body).status_code == 404
    admin_api.force_authenticate(None)
    assert api_client.post(detail(incident, "updates/"), body).status_code == 401
    assert user_with("view_incident", "add_incident").post(detail(incident, "updates/"), body).status_code == 403
    assert IncidentUpdate.objects.count() == 0
    assert user_with("change_incident").post(detail(incident, "updates/"), body).status_code == 201


def test_resolve(admin_api):
    incident = make_incident()

    response = admin_api.post(detail(incident, "resolve/"))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "resolved" and body["resolved_at"] is not None
    assert [(u["message"], u["status_change"]) for u in body["updates"]] == [("Incident resolved", "resolved")]
    assert transitions_of(change_events(incident)[-1]) == {"status": ("investigating", "resolved", "user:admin")}


def test_resolve_with_message(admin_api):
    incident = make_incident()

    response = admin_api.post(detail(incident, "resolve/"), {"message": "Rolled back"}, format="json")

    assert [u["message"] for u in response.json()["updates"]] == ["Rolled back"]


def test_resolve_bad_input_is_400_and_writes_nothing(admin_api):
    incident = make_incident()
    before = written()

    response = admin_api.post(detail(incident, "resolve/"), {"message": ["not", "text"]}, format="json")

    assert response.status_code == 400
    assert "message" in response.json()
    assert written() == before


def test_resolve_needs_login_change_permission_and_a_real_incident(admin_api, api_client, user_with):
    incident = make_incident()
    assert admin_api.post(f"{UNKNOWN}resolve/").status_code == 404
    admin_api.force_authenticate(None)
    assert api_client.post(detail(incident, "resolve/")).status_code == 401
    assert user_with("view_incident", "add_incident").post(detail(incident, "resolve/")).status_code == 403
    assert Incident.objects.get().status == "investigating"
