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
