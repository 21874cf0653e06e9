"""API bodies within limits (docs/api.md, Errors): a body over CHECKSTACK_MAX_BODY_BYTES is a 413 with
a JSON error, one nested too deeply a 400, for every parser (JSON, application/yaml, text/yaml); nothing is
written either way."""

import json

import pytest

from automation.models import Automation
from catalog.models import System
from foundation.request_bodies import MAX_DEPTH

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

VALIDATE = "/api/v1/automations/validate/"
CREATE = "/api/v1/automations/"
DOCUMENT_TYPES = ["application/json", "application/yaml", "text/yaml"]  # JSON text is also YAML


def document_body(size: int) -> str:
    """A valid automation document serialized to exactly `size` bytes (padded in its description)."""
    doc = {"name": "sized", "description": "", "triggers": [{"event": "automation.manual"}],
           "actions": [{"action": "automation.log", "config": {"message": "hi"}}]}
    doc["description"] = "x" * (size - len(json.dumps(doc)))
    body = json.dumps(doc)
    assert len(body.encode()) == size
    return body


def post(api, url, body, content_type):
    return api.generic("POST", url, body, content_type=content_type)


@pytest.mark.parametrize("content_type", DOCUMENT_TYPES)
def test_a_document_at_exactly_the_limit_is_accepted(admin_api, settings, content_type):
    settings.CHECKSTACK_MAX_BODY_BYTES = 4096
    response = post(admin_api, VALIDATE, document_body(4096), content_type)
    assert response.status_code == 200
    assert response.json() == {"valid": True, "errors": []}


@pytest.mark.parametrize("content_type", DOCUMENT_TYPES)
@pytest.mark.parametrize("url", [VALIDATE, CREATE])
def test_a_document_one_byte_over_the_limit_is_a_413_and_saves_nothing(admin_api, settings, content_type, url):
    settings.CHECKSTACK_MAX_BODY_BYTES = 4096
    response = post(admin_api, url, document_body(4097), content_type)
    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is larger than 4096 bytes."}
    assert not Automation.objects.exists()


def test_the_default_json_parser_has_the_limit_too(admin_api, settings):
    settings.CHECKSTACK_MAX_BODY_BYTES = 1024
    response = admin_api.post("/api/v1/systems/", {"name": "big", "description": "x" * 2000}, format="json")
    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is larger than 1024 bytes."}
    assert not System.objects.exists()


def test_the_default_limits_are_one_mebibyte_for_a_body_and_128_kibibytes_for_a_document(admin_api, settings):
    assert settings.CHECKSTACK_MAX_BODY_BYTES == 1024 * 1024
    assert settings.CHECKSTACK_MAX_DOCUMENT_BYTES == 128 * 1024
    response = post(admin_api, VALIDATE, document_body(128 * 1024), "application/json")
    assert response.status_code == 200 and response.json()["valid"] is True
    assert post(admin_api, VALIDATE, document_body(1024 * 1024 + 1), "application/json").status_code == 413


@pytest.mark.parametrize("content_type", DOCUMENT_TYPES)
@pytest.mark.parametrize("url", [VALIDATE, CREATE])
def test_a_document_over_the_document_limit_is_a_413_naming_it_and_saves_nothing(admin_api, content_type, url):
    response = post(admin_api, url, document_body(128 * 1024 + 1), content_type)
    assert response.status_code == 413
    assert response.json() == {"detail": "The automation document is larger than 131072 bytes "
                                         "(CHECKSTACK_MAX_DOCUMENT_BYTES)."}
    assert not Automation.objects.exists()


@pytest.mark.parametrize("content_type", ["multipart/form-data; boundary=BOUNDARY",
                                          "application/x-www-form-urlencoded"])
@pytest.mark.parametrize("url", ["/api/v1/systems/", CREATE, VALIDATE])
def test_a_5_mb_form_or_multipart_upload_is_refused_unread_and_saves_nothing(admin_api, content_type, url):
    upload = b"x" * (5 * 1024 * 1024)
    if content_type.startswith("multipart"):
        body = (b"--BOUNDARY\r\nContent-Disposition: form-data; name=\"name\"; filename=\"big.bin\"\r\n\r\n"
                + upload + b"\r\n--BOUNDARY--\r\n")
    else:
        body = b"name=big&description=" + upload
    response = admin_api.generic("POST", url, body, content_type=content_type)
    assert response.status_code == 415
    assert response.json() == {"detail": f'Unsupported media type "{content_type}" in request.'}
    assert not System.objects.exists() and not Automation.objects.exists()


def test_the_api_parses_json_only_and_automations_also_yaml(settings):
    from automation.api.automations import AutomationViewSet

    assert settings.REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] == ["foundation.request_bodies.BoundedJSONParser"]
    assert [parser.media_type for parser in AutomationViewSet.parser_classes] == [
        "application/json", "application/yaml", "text/yaml"]


@pytest.mark.parametrize("content_type", DOCUMENT_TYPES)
@pytest.mark.parametrize("url", [VALIDATE, CREATE])
def test_a_body_nested_60000_deep_is_a_400_not_a_500(admin_api, content_type, url):
    # Within the document limit (a deeper one is a 413 before anything reads it).
    response = post(admin_api, url, "[" * 60_000 + "]" * 60_000, content_type)
    assert response.status_code == 400
    assert "nested" in json.dumps(response.json())
    assert not Automation.objects.exists()


def test_a_json_body_nested_100000_deep_on_any_endpoint_is_a_400(admin_api):
    response = post(admin_api, "/api/v1/systems/", '{"a":' * 100_000 + "1" + "}" * 100_000, "application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": f"The request body is nested more than {MAX_DEPTH} levels deep."}
    assert not System.objects.exists()


@pytest.mark.parametrize("content_type", DOCUMENT_TYPES)
def test_nesting_just_past_the_limit_is_a_400_and_at_the_limit_is_read(admin_api, content_type):
    def nested(depth):
        return {"name": "deep", "triggers": [{"event": "automation.manual"}],
                "actions": [{"action": "automation.log", "config": {"message": "hi", "extra": deep(depth - 4)}}]}

    def deep(levels):
        value = 1
        for _ in range(levels):
            value = [value]
        return value

    too_deep = post(admin_api, VALIDATE, json.dumps(nested(MAX_DEPTH + 1)), content_type)
    assert too_deep.status_code == 400
    assert too_deep.json() == {"detail": f"The request body is nested more than {MAX_DEPTH} levels deep."}
    at_limit = post(admin_api, VALIDATE, json.dumps(nested(MAX_DEPTH)), content_type)
    assert at_limit.status_code == 200  # read, then judged by the validator (extra config keys are refused)
    assert at_limit.json()["valid"] is False and "nested" not in json.dumps(at_limit.json())
