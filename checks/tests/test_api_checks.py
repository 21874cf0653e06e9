"""/api/v1/checks/: CRUD through the services, field errors, permissions, results, the heartbeat token."""

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from automation.secrets import secret_set
from catalog.models import System
from catalog.tests.factories import ACTOR, api_as, make_system
from checks.models import Check, CheckResult
from checks.services import check_update

from .config_factories import make_check

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

ALL_CHECK_PERMS = ("checks.view_check", "checks.add_check", "checks.change_check", "checks.delete_check",
                   "checks.view_checkresult")


def body(owner, **fields):
    return {"system": str(owner.pk), "name": "web", "kind": "http", "url": "http://127.0.0.1:8000/healthz",
            **fields}


def test_create_validates_saves_and_makes_the_check_due_now(admin_api):
    system = make_system()
    before = timezone.now()

    response = admin_api.post("/api/v1/checks/", body(system, expected_status_codes=[200, 204],
                                                      interval_seconds=30, timeout_seconds=5), format="json")

    assert response.status_code == 201, response.json()
    check = Check.objects.get()
    data = response.json()
    assert data["id"] == str(check.pk)
    assert (data["system"], data["kind"], data["url"], data["expected_status_codes"]) == (
        str(system.pk), "http", "http://127.0.0.1:8000/healthz", [200, 204])
    assert (check.interval_seconds, check.timeout_seconds) == (30, 5)
    assert before <= check.next_run_at <= timezone.now()
    assert data["heartbeat_token"] is None and data["ping_url"] is None  # not a heartbeat


BAD_BODIES = [
    ({"url": "ftp://example.com/"}, "url"),
    ({"url": "http://169.254.169.254/latest/meta-data/"}, "url"),
    ({"url": "http://metadata.google.internal/"}, "url"),
    ({"url": "http://user:pass@example.com/"}, "url"),
    ({"url": "http://example.com:99999/"}, "url"),
    ({"url": "http://" + "a" * 2100 + ".com/"}, "url"),
    ({"url": ""}, "url"),
    ({"name": "n" * 201}, "name"),
    ({"name": ""}, "name"),
    ({"kind": "icmp"}, "kind"),
    ({"interval_seconds": 5}, "interval_seconds"),
    ({"interval_seconds": 10**30}, "interval_seconds"),
    ({"interval_seconds": 30, "timeout_seconds": 30}, "timeout_seconds"),
    ({"timeout_seconds": 61}, "timeout_seconds"),
    ({"expected_status_codes": [99]}, "expected_status_codes"),
    ({"expected_status_codes": [200] * 51}, "expected_status_codes"),
    ({"expected_status_codes": "200"}, "expected_status_codes"),
    ({"headers": {"Authorization": "Bearer abc"}}, "headers"),
    ({"headers": {"X-Service-Token": "abc"}}, "headers"),
    ({"headers": {"X-Trace": '{{ secret("NOPE") }}'}}, "headers"),
    ({"headers": {"X-Trace": "{{ system.name }}"}}, "headers"),
    ({"headers": {"bad name": "x"}}, "headers"),
    ({"headers": {f"X-{i}": "x" for i in range(21)}}, "headers"),
    ({"headers": ["X-A"]}, "headers"),
    ({"headers": {"Host": "metadata.google.internal"}}, "headers"),
    ({"headers": {"content-length": "0"}}, "headers"),
    ({"headers": {"Transfer-Encoding": "chunked"}}, "headers"),
    ({"headers": {"CONNECTION": "keep-alive"}}, "headers"),
    ({"url": "http://[::169.254.169.254]/latest/meta-data/"}, "url"),
    ({"url": "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/"}, "url"),
    ({"kind": "tcp", "host": "::169.254.169.254", "port": 80}, "host"),
    ({"kind": "tcp", "host": "64:ff9b::169.254.169.254", "port": 80}, "host"),
    ({"body_keyword": "k" * 201}, "body_keyword"),
    ({"kind": "tcp", "host": "127.0.0.1", "port": 0}, "port"),
    ({"kind": "tcp", "host": "127.0.0.1", "port": 70000}, "port"),
    ({"kind": "tcp", "host": "127.0.0.1"}, "port"),
    ({"kind": "tcp", "host": "169.254.0.1", "port": 80}, "host"),
    ({"kind": "tcp", "host": "h" * 300, "port": 80}, "host"),
    ({"kind": "dns", "dns_name": "example.com", "dns_resolver": "resolver.example"}, "dns_resolver"),
    ({"kind": "dns", "dns_name": "example.com", "dns_resolver": "127.0.0.1", "dns_resolver_port": 0},
     "dns_resolver_port"),
    ({"kind": "dns", "dns_name": "example.com", "dns_record_type": "SRV"}, "dns_record_type"),
    ({"kind": "dns", "dns_name": "not a name"}, "dns_name"),
    ({"kind": "heartbeat", "heartbeat_grace_seconds": -1}, "heartbeat_grace_seconds"),
    ({"system": str(uuid.uuid4())}, "system"),
    ({"system": "not-a-uuid"}, "system"),
]


@pytest.mark.parametrize("fields, field", BAD_BODIES)
def test_bad_create_is_a_400_naming_the_field_and_saves_nothing(admin_api, fields, field):
    system = make_system()

    response = admin_api.post("/api/v1/checks/", body(system, **fields), format="json")

    assert response.status_code == 400, response.json()
    assert field in response.json(), response.json()
    assert not Check.objects.exists()


def test_duplicate_name_in_a_system_is_a_field_error(admin_api):
    check = make_check(name="web")

    response = admin_api.post("/api/v1/checks/", body(check.system, name="web"), format="json")

    assert (response.status_code, list(response.json())) == (400, ["name"])
    assert Check.objects.count() == 1


def test_list_filters_by_system_and_kind(admin_api):
    first, second = make_system("first"), make_system("second")
    mine = make_check(first, name="web")
    make_check(first, name="beat", kind="heartbeat")
    make_check(second, name="db", kind="tcp")

    by_system = admin_api.get(f"/api/v1/checks/?system={first.pk}").json()
    by_kind = admin_api.get(f"/api/v1/checks/?system={first.pk}&kind=http").json()

    assert sorted(row["name"] for row in by_system["results"]) == ["beat", "web"]
    assert [row["id"] for row in by_kind["results"]] == [str(mine.pk)]
    assert admin_api.get("/api/v1/checks/?system=nope").status_code == 400


def test_heartbeat_token_is_shown_to_who_may_change_the_check_only(settings):
    settings.CHECKSTACK_PUBLIC_URL = "https://status.example.com/"
    beat = make_check(name="beat", kind="heartbeat")

    viewer = api_as("viewer", "checks.view_check")
    editor = api_as("editor", "checks.view_check", "checks.change_check")

    for client, shown in ((viewer, False), (editor, True)):
        listed = client.get("/api/v1/checks/").json()["results"][0]
        detail = client.get(f"/api/v1/checks/{beat.pk}/").json()
        for data in (listed, detail):
            if shown:
                assert data["heartbeat_token"] == beat.heartbeat_token
                assert data["ping_url"] == f"https://status.example.com/ping/{beat.heartbeat_token}"
            else:
                assert (data["heartbeat_token"], data["ping_url"]) == (None, None)
                assert beat.heartbeat_token not in str(data)


def test_patch_validates_the_check_as_it_will_be(admin_api):
    check = make_check(interval_seconds=30, timeout_seconds=10)

    response = admin_api.patch(f"/api/v1/checks/{check.pk}/", {"timeout_seconds": 30}, format="json")

    assert (response.status_code, list(response.json())) == (400, ["timeout_seconds"])
    check.refresh_from_db()
    assert check.timeout_seconds == 10


def test_patch_changes_only_the_fields_sent_and_keeps_run_state(admin_api):
    check = make_check()
    ran_at = timezone.now() - timedelta(minutes=1)
    Check.objects.filter(pk=check.pk).update(last_run_at=ran_at, consecutive_failures=2, last_ok=False)

    response = admin_api.patch(f"/api/v1/checks/{check.pk}/", {"name": "home page", "http_method": "HEAD"},
                               format="json")

    assert response.status_code == 200, response.json()
    check.refresh_from_db()
    assert (check.name, check.http_method, check.url) == ("home page", "HEAD", "http://127.0.0.1:8000/healthz")
    assert (check.last_run_at, check.consecutive_failures, check.last_ok) == (ran_at, 2, False)


def test_an_edit_of_an_enabled_check_makes_it_due_now(admin_api):
    check = make_check()
    later = timezone.now() + timedelta(hours=1)
    Check.objects.filter(pk=check.pk).update(next_run_at=later)
    before = timezone.now()

    response = admin_api.patch(f"/api/v1/checks/{check.pk}/", {"url": "http://127.0.0.1:8001/healthz"},
                               format="json")

    assert response.status_code == 200, response.json()
    check.refresh_from_db()
    assert before <= check.next_run_at <= timezone.now()


def test_re_enabling_makes_the_check_due_now(admin_api):
    check = make_check()
    later = timezone.now() + timedelta(hours=1)
    check_update(check=check, enabled=False)
    Check.objects.filter(pk=check.pk).update(next_run_at=later)

    admin_api.patch(f"/api/v1/checks/{check.pk}/", {"interval_seconds": 120}, format="json")
    check.refresh_from_db()
    assert check.next_run_at == later  # still disabled: an edit is no reason to run

    before = timezone.now()
    response = admin_api.patch(f"/api/v1/checks/{check.pk}/", {"enabled": True}, format="json")

    assert response.status_code == 200
    check.refresh_from_db()
    assert before <= check.next_run_at <= timezone.now()


def test_delete_removes_the_check_and_its_results(admin_api):
    check = make_check()
    CheckResult.objects.create(check_ref=check, at=timezone.now(), ok=True, latency_ms=3)

    response = admin_api.delete(f"/api/v1/checks/{check.pk}/")

    assert response.status_code == 204
    assert not Check.objects.exists() and not CheckResult.objects.exists()


def test_permissions_are_the_models(api_client):
    check = make_check()
    system = check.system
    viewer = api_as("viewer", "checks.view_check")

    assert api_client.get("/api/v1/checks/").status_code == 401
    assert api_client.post("/api/v1/checks/", body(system, name="x"), format="json").status_code == 401
    assert api_as("nobody").get("/api/v1/checks/").status_code == 403
    assert viewer.get("/api/v1/checks/").status_code == 200
    assert viewer.post("/api/v1/checks/", body(system, name="x"), format="json").status_code == 403
    assert viewer.patch(f"/api/v1/checks/{check.pk}/", {"name": "y"}, format="json").status_code == 403
    assert viewer.delete(f"/api/v1/checks/{check.pk}/").status_code == 403
    assert viewer.post(f"/api/v1/checks/{check.pk}/regenerate-token/").status_code == 403
    assert viewer.get(f"/api/v1/checks/{check.pk}/results/").status_code == 403  # needs view_checkresult
    check.refresh_from_db()
    assert (Check.objects.count(), check.name) == (1, "web")


def test_unknown_or_malformed_id_is_a_json_404(admin_api):
    for check_id in (uuid.uuid4(), "nope"):
        response = admin_api.get(f"/api/v1/checks/{check_id}/")
        assert (response.status_code, list(response.json())) == (404, ["detail"])


def test_secret_headers_need_use_secret_and_come_back_as_written():
    system = make_system()
    secret_set(name="API_TOKEN", value="s3cr3t-value")
    headers = {"Authorization": 'Bearer {{ secret("API_TOKEN") }}'}
    without = api_as("editor", *ALL_CHECK_PERMS)
    with_secret = api_as("trusted", *ALL_CHECK_PERMS, "automation.use_secret")

    refused = without.post("/api/v1/checks/", body(system, headers=headers), format="json")
    created = with_secret.post("/api/v1/checks/", body(system, headers=headers), format="json")

    assert (refused.status_code, list(refused.json())) == (400, ["headers"])
    assert "automation.use_secret" in refused.json()["headers"][0]
    assert created.status_code == 201, created.json()
    assert created.json()["headers"] == headers
    check_id = created.json()["id"]
    assert "s3cr3t-value" not in without.get(f"/api/v1/checks/{check_id}/").content.decode()
    # Whoever may change the check may point it anywhere: every change of it needs the permission.
    moved = without.patch(f"/api/v1/checks/{check_id}/", {"url": "http://10.0.0.9/"}, format="json")
    assert (moved.status_code, list(moved.json())) == (400, ["headers"])
    assert Check.objects.get().url == "http://127.0.0.1:8000/healthz"


def test_results_are_paginated_newest_first_with_errors_masked(admin_api):
    secret_set(name="API_TOKEN", value="s3cr3t-value")
    check = make_check(headers={"Authorization": 'Bearer {{ secret("API_TOKEN") }}'})
    now = timezone.now()
    for minutes in range(3):
        CheckResult.objects.create(check_ref=check, at=now - timedelta(minutes=minutes), ok=minutes != 0,
                                   latency_ms=minutes, error="401 for token s3cr3t-value" if minutes == 0 else "")
    Check.objects.filter(pk=check.pk).update(last_error="401 for token s3cr3t-value")

    page = admin_api.get(f"/api/v1/checks/{check.pk}/results/?limit=2").json()
    detail = admin_api.get(f"/api/v1/checks/{check.pk}/").json()

    assert page["count"] == 3 and page["next"]
    assert [(row["ok"], row["latency_ms"], row["error"]) for row in page["results"]] == [
        (False, 0, "401 for token ***"), (True, 1, "")]
    assert detail["last_error"] == "401 for token ***"


def test_regenerate_token_replaces_the_ping_url(admin_api):
    beat = make_check(kind="heartbeat", name="beat")
    old = beat.heartbeat_token

    response = admin_api.post(f"/api/v1/checks/{beat.pk}/regenerate-token/")

    beat.refresh_from_db()
    assert response.status_code == 200
    assert beat.heartbeat_token != old and response.json()["heartbeat_token"] == beat.heartbeat_token
    http = make_check(beat.system, name="web")
    refused = admin_api.post(f"/api/v1/checks/{http.pk}/regenerate-token/")
    assert (refused.status_code, list(refused.json())) == (400, ["kind"])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_check_of_a_system_deleted_meanwhile_is_a_field_error_not_a_failed_commit():
    from catalog.services import system_delete
    from checks.services import check_create

    system = make_system()
    stale = System.objects.get(pk=system.pk)
    system_delete(system=system, actor=ACTOR)

    with pytest.raises(ValidationError) as refused:
        check_create(system=stale, name="web", kind="http", url="http://127.0.0.1:8000/healthz")

    assert refused.value.message_dict == {"system": ["This system no longer exists."]}
    assert not Check.objects.exists()
