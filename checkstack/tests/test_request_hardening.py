"""Malformed credentials and unknown API paths get clean 4xx answers, never a 500."""

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_session_cookie_with_a_nul_byte_is_no_session(client):
    client.cookies["sessionid"] = "abc\x00def12345"
    response = client.get("/api/v1/systems/")
    assert response.status_code == 401


def test_token_with_a_nul_byte_is_401(client):
    response = client.get("/api/v1/systems/", HTTP_AUTHORIZATION="Token abc\x00def")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_unrouted_api_path_is_a_json_404(admin_client):
    response = admin_client.get("/api/v1/incidents/a/b/c/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_unrouted_page_outside_the_api_is_html(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


MANUAL_AUTOMATION = {"name": "manual", "triggers": [{"event": "automation.manual"}],
                     "actions": [{"action": "automation.log", "config": {"message": "hi"}}]}


def test_a_nul_character_inside_a_json_payload_is_a_400_and_starts_no_run(admin_api):
    from automation.models import Run

    created = admin_api.post("/api/v1/automations/", MANUAL_AUTOMATION, format="json").json()
    response = admin_api.post(f"/api/v1/automations/{created['id']}/run/",
                              {"payload": {"note": "a\x00b"}}, format="json")
    assert response.status_code == 400
    assert response.json() == {"payload": ["NUL characters (\\u0000) are not allowed (at note)."]}
    assert not Run.objects.exists()


def test_a_nul_character_in_a_yaml_document_is_a_400_naming_the_field(admin_api):
    from automation.models import Automation

    body = 'name: nul\ndescription: "a\\0b"\ntriggers: [{event: automation.manual}]\n' \
           'actions: [{action: automation.log, config: {message: hi}}]\n'
    response = admin_api.post("/api/v1/automations/", body, content_type="application/yaml")
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "description"
    assert not Automation.objects.exists()


def test_a_huge_page_limit_is_capped_not_a_500(admin_api):
    from catalog.services import system_create

    for n in range(3):
        system_create(name=f"s{n}", actor="test")
    response = admin_api.get("/api/v1/systems/", {"limit": "99999999999999999999"})
    assert response.status_code == 200
    assert response.json()["count"] == 3 and len(response.json()["results"]) == 3


def test_a_secret_name_the_api_could_never_create_is_a_404_even_with_a_nul(admin_api):
    response = admin_api.put("/api/v1/secrets/a%00b/", {"value": "x"}, format="json")
    assert response.status_code == 404
