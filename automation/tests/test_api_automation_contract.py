"""The automation API as docs/api.md describes it: shapes, auth, permissions, errors, versions, conflicts."""

import pytest
import yaml
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from automation.engine.runs.runner import run_advance
from automation.models import Automation, AutomationVersion, Run, Secret

pytestmark = pytest.mark.django_db
AUTOMATION_FIELDS = {"id", "version", "enabled", "managed_by", "run_as", "created_at", "updated_at", "document"}
RUN_FIELDS = {"id", "automation", "automation_version", "trigger_id", "event", "payload", "actor", "context_key",
              "status", "error", "started_at", "finished_at", "steps", "artifacts"}
STEP_FIELDS = {"path", "kind", "status", "attempts", "result", "error", "started_at", "finished_at"}
ARTIFACT_FIELDS = {"type", "step_id", "data", "context_key", "created_at"}


def document(name="nightly", message="hello"):
    return {"name": name, "triggers": [{"event": "automation.manual"}],
            "actions": [{"action": "automation.log", "config": {"message": message}}]}


def client_with(django_user_model, *codenames, username="op"):
    user = django_user_model.objects.create_user(username, password=None)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def created(admin_api):
    response = admin_api.post("/api/v1/automations/", document(), format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_create_in_json_and_yaml_with_the_spec_shape(admin_api, created):
    assert set(created) == AUTOMATION_FIELDS
    assert (created["version"], created["enabled"], created["managed_by"], created["run_as"]) == (1, True, "", "admin")
    assert created["document"]["triggers"][0]["id"] == "automation_manual"  # normalized
    body = yaml.safe_dump(document(name="from-yaml"))
    response = admin_api.generic("POST", "/api/v1/automations/", body, content_type="application/yaml")
    assert response.status_code == 201, response.content
    assert response.json()["document"]["name"] == "from-yaml"
    listing = admin_api.get("/api/v1/automations/", {"limit": 1})
    assert set(listing.json()) == {"count", "next", "previous", "results"}
    assert listing.json()["count"] == 2 and len(listing.json()["results"]) == 1 and listing.json()["next"]


@pytest.mark.parametrize("body, path", [
    ({"triggers": [{"event": "automation.manual"}], "actions": []}, "name"),
    ({**document(), "triggers": [{"event": "no.such.event"}]}, "triggers.0.event"),
    ({**document(), "actions": [{"action": "automation.log", "config": {"message": 5}}]}, "actions.0.config.message"),
    ({**document(), "bogus": 1}, "bogus"),
])
def test_a_bad_document_is_a_400_with_paths_and_saves_nothing(admin_api, body, path):
    response = admin_api.post("/api/v1/automations/", body, format="json")
    assert response.status_code == 400
    assert path in [error["path"] for error in response.json()["errors"]]
    assert all(set(error) == {"path", "message"} for error in response.json()["errors"])
    assert not Automation.objects.exists() and not AutomationVersion.objects.exists()


def test_malformed_yaml_is_a_400_not_a_500(admin_api):
    response = admin_api.generic("POST", "/api/v1/automations/", "name: [unclosed", content_type="application/yaml")
    assert response.status_code == 400
    assert not Automation.objects.exists()


def test_validate_answers_valid_and_errors_and_saves_nothing(admin_api):
    assert admin_api.post("/api/v1/automations/validate/", document(), format="json").json() == {
        "valid": True, "errors": []}
    bad = admin_api.post("/api/v1/automations/validate/", {"name": ""}, format="json").json()
    assert bad["valid"] is False and bad["errors"]
    assert not Automation.objects.exists()


def test_update_makes_a_version_and_a_started_run_keeps_its_own(admin_api, created):
    url = f"/api/v1/automations/{created['id']}/"
    started = admin_api.post(f"{url}run/", {"payload": {"n": 1}}, format="json")
    assert started.status_code == 201 and set(started.json()) == {"run_id"}
    updated = admin_api.put(url, document(message="changed"), format="json")
    assert updated.status_code == 200 and updated.json()["version"] == 2
    run = Run.objects.get(pk=started.json()["run_id"])
    run_advance(run_id=run.pk)
    detail = admin_api.get(f"/api/v1/runs/{run.pk}/").json()
    assert detail["automation_version"] == 1
    assert detail["steps"][0]["result"]["message"] == "hello"  # the version it started with


def test_a_conflicting_concurrent_edit_is_a_409(admin_api, created):
    url = f"/api/v1/automations/{created['id']}/"
    etag = admin_api.get(url)["ETag"]
    assert etag == '"1"'
    first = admin_api.put(url, document(message="mine"), format="json", HTTP_IF_MATCH=etag)
    assert first.status_code == 200 and first["ETag"] == '"2"'
    second = admin_api.put(url, document(message="theirs"), format="json", HTTP_IF_MATCH=etag)
    assert second.status_code == 409 and second.json()["version"] == 2
    assert Automation.objects.get().document["actions"][0]["config"]["message"] == "mine"
    garbled = admin_api.put(url, document(), format="json", HTTP_IF_MATCH="yesterday")
    assert garbled.status_code == 400


def test_enable_disable_delete(admin_api, created):
    url = f"/api/v1/automations/{created['id']}/"
    assert admin_api.post(f"{url}disable/").json()["enabled"] is False
    assert admin_api.post(f"{url}enable/").json()["enabled"] is True
    assert admin_api.delete(url).status_code == 204
    assert admin_api.get(url).status_code == 404


def test_auth_and_model_permissions(django_user_model, created):
    url = "/api/v1/automations/"
    assert APIClient().get(url).status_code == 401
    viewer = client_with(django_user_model, "view_automation", "view_run")
    assert viewer.get(url).status_code == 200
    assert viewer.post(url, document(name="x"), format="json").status_code == 403
    assert viewer.post(f"{url}{created['id']}/run/", {}, format="json").status_code == 403
    assert viewer.post(f"{url}{created['id']}/disable/").status_code == 403
    assert Automation.objects.count() == 1 and not Run.objects.exists()
    nobody = client_with(django_user_model, username="nobody")
    assert nobody.get(url).status_code == 403


def test_runs_list_filters_detail_shape_and_idempotent_cancel(admin_api, created, django_user_model):
    url = f"/api/v1/automations/{created['id']}/run/"
    first = admin_api.post(url, {"payload": {}}, format="json").json()["run_id"]
    second = admin_api.post(url, {"payload": {}}, format="json").json()["run_id"]
    run_advance(run_id=first)
    listing = admin_api.get("/api/v1/runs/", {"automation": created["id"], "status": "succeeded"}).json()
    assert [r["id"] for r in listing["results"]] == [first]
    detail = admin_api.get(f"/api/v1/runs/{first}/").json()
    assert RUN_FIELDS <= set(detail) and set(detail["steps"][0]) >= STEP_FIELDS
    assert (detail["status"], detail["event"], detail["automation"]) == ("succeeded", "automation.manual",
                                                                         created["id"])
    assert set(listing["results"][0]) >= RUN_FIELDS  # lists carry steps and artifacts too
    assert admin_api.get("/api/v1/runs/", {"status": "bogus"}).status_code == 400

    viewer = client_with(django_user_model, "view_run", "view_automation")
    assert viewer.post(f"/api/v1/runs/{second}/cancel/").status_code == 403
    cancelled = admin_api.post(f"/api/v1/runs/{second}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = admin_api.post(f"/api/v1/runs/{second}/cancel/")
    assert again.status_code == 200 and again.json()["status"] == "cancelled"
    finished = admin_api.post(f"/api/v1/runs/{first}/cancel/")
    assert finished.json()["status"] == "succeeded"  # a finished run is left as it was
    assert admin_api.get("/api/v1/runs/not-a-uuid/").status_code == 404


def test_triggers_and_actions_expose_json_schemas(admin_api):
    triggers = admin_api.get("/api/v1/triggers/").json()
    ids = {t["id"] for t in triggers["results"]}
    assert {"incident.created", "healthcheck.system_degraded", "maintenance.updated", "automation.cron"} <= ids
    degraded = admin_api.get("/api/v1/triggers/healthcheck.system_degraded/").json()
    assert set(degraded["payload_schema"]["properties"]) == {"system_id", "previous_status", "new_status", "message",
                                                             "latency_ms"}
    create = admin_api.get("/api/v1/actions/incident.create/").json()
    assert create["produces"] == "incident" and "title" in create["config_schema"]["properties"]
    assert create["secret_fields"] == []  # titles are stored and shown: never a secret
    webhook = admin_api.get("/api/v1/actions/automation.webhook/").json()
    assert (webhook["permissions"], webhook["secret_fields"]) == (["automation.send_webhook"],
                                                                  ["url", "headers", "body"])
    assert admin_api.get("/api/v1/actions/nope/").status_code == 404
    assert APIClient().get("/api/v1/actions/").status_code == 401


def test_secrets_are_write_only(admin_api, django_user_model):
    created = admin_api.post("/api/v1/secrets/", {"name": "TOKEN", "value": "s3cr3t-value"}, format="json")
    assert created.status_code == 201 and set(created.json()) == {"name", "created_at", "updated_at"}
    for url in ("/api/v1/secrets/", "/api/v1/secrets/TOKEN/"):
        response = admin_api.get(url)
        assert response.status_code == 200 and b"s3cr3t-value" not in response.content
    assert admin_api.put("/api/v1/secrets/TOKEN/", {"value": "rotated"}, format="json").status_code == 200
    assert admin_api.post("/api/v1/secrets/", {"name": "TOKEN", "value": "x"}, format="json").status_code == 400
    assert admin_api.post("/api/v1/secrets/", {"name": "no value"}, format="json").status_code == 400
    viewer = client_with(django_user_model, "view_secret")
    assert viewer.get("/api/v1/secrets/").status_code == 200
    assert viewer.delete("/api/v1/secrets/TOKEN/").status_code == 403
    assert admin_api.delete("/api/v1/secrets/TOKEN/").status_code == 204
    assert not Secret.objects.exists()
