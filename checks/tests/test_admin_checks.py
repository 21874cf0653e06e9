"""The check admin and the system admin's health policy and checks panel: same validator, same services."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from automation.secrets import secret_set
from catalog.models import HealthSource, System, SystemHealth
from catalog.services import health_report, system_update
from catalog.tests.factories import ACTOR, log_size, make_system, make_user
from checks.models import Check, CheckResult

from .config_factories import make_check

pytestmark = [pytest.mark.django_db]

ADD = "/admin/checks/check/add/"
CHANGELIST = "/admin/checks/check/"


def change_url(check):
    return f"/admin/checks/check/{check.pk}/change/"


def check_form(system, **overrides):
    data = {"system": str(system.pk), "name": "web", "kind": "http", "enabled": "on", "interval_seconds": "60",
            "timeout_seconds": "10", "url": "http://web:8080/healthz", "http_method": "GET",
            "expected_status_codes": "[]", "body_keyword": "", "headers": "{}", "host": "", "port": "",
            "dns_name": "", "dns_record_type": "A", "dns_expected": "", "dns_resolver": "",
            "dns_resolver_port": "53", "heartbeat_grace_seconds": "60"}
    return {**data, **overrides}


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def test_add_saves_through_the_service_single_label_hosts_included(admin_client):
    system = make_system()
    before = timezone.now()

    response = admin_client.post(ADD, check_form(system, expected_status_codes="[200, 301]"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    check = Check.objects.get()
    assert (check.system, check.url, check.expected_status_codes) == (system, "http://web:8080/healthz", [200, 301])
    assert before <= check.next_run_at <= timezone.now()


@pytest.mark.parametrize("overrides, field", [
    ({"url": "ftp://web/"}, "url"),
    ({"url": "http://169.254.169.254/latest/"}, "url"),
    ({"url": "http://" + "a" * 2100 + ".com/"}, "url"),
    ({"interval_seconds": "30", "timeout_seconds": "30"}, "timeout_seconds"),
    ({"interval_seconds": "99999999999999999999"}, "interval_seconds"),
    ({"headers": '{"Authorization": "Bearer plain"}'}, "headers"),
    ({"headers": '{"X-Token": "{{ secret(\\"MISSING\\") }}"}'}, "headers"),
    ({"expected_status_codes": "[700]"}, "expected_status_codes"),
    ({"kind": "tcp", "host": "127.0.0.1", "port": "70000"}, "port"),
    ({"kind": "dns", "dns_name": "example.com", "dns_resolver": "dns.example"}, "dns_resolver"),
    ({"name": "n" * 201}, "name"),
])
def test_bad_add_shows_the_field_error_and_saves_nothing(admin_client, overrides, field):
    system = make_system()

    response = admin_client.post(ADD, check_form(system, **overrides))

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not Check.objects.exists()


def test_duplicate_name_is_a_form_error(admin_client):
    existing = make_check(name="web")

    response = admin_client.post(ADD, check_form(existing.system))

    assert response.status_code == 200
    assert "name" in response.context["adminform"].form.errors
    assert Check.objects.count() == 1


def test_change_saves_only_what_changed_and_keeps_run_state(admin_client):
    check = make_check(name="web")
    ran_at = timezone.now() - timedelta(minutes=2)
    Check.objects.filter(pk=check.pk).update(last_run_at=ran_at, consecutive_failures=3, last_ok=False)

    response = admin_client.post(change_url(check), check_form(check.system, name="front page",
                                                               url="http://127.0.0.1:8000/healthz"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    check.refresh_from_db()
    assert (check.name, check.last_run_at, check.consecutive_failures) == ("front page", ran_at, 3)


def test_secret_headers_need_use_secret_in_the_admin_too():
    system = make_system()
    secret_set(name="API_TOKEN", value="s3cr3t")
    headers = '{"Authorization": "Bearer {{ secret(\\"API_TOKEN\\") }}"}'
    perms = ("checks.add_check", "checks.view_check", "checks.change_check")
    plain = client_for(make_user("plain", *perms))
    trusted = client_for(make_user("trusted", *perms, "automation.use_secret"))

    refused = plain.post(ADD, check_form(system, headers=headers))
    saved = trusted.post(ADD, check_form(system, headers=headers))

    assert "automation.use_secret" in str(refused.context["adminform"].form.errors["headers"])
    assert saved.status_code == 302
    assert Check.objects.get().headers == {"Authorization": 'Bearer {{ secret("API_TOKEN") }}'}


def test_regenerate_token_action_renews_heartbeats_only(admin_client):
    beat = make_check(kind="heartbeat", name="beat")
    web = make_check(beat.system, name="web")
    old_beat, old_web = beat.heartbeat_token, web.heartbeat_token

    response = admin_client.post(CHANGELIST, {"action": "regenerate_token",
                                              "_selected_action": [str(beat.pk), str(web.pk)]})

    assert response.status_code == 302
    beat.refresh_from_db()
    web.refresh_from_db()
    assert beat.heartbeat_token != old_beat and web.heartbeat_token == old_web


def test_ping_url_is_shown_to_changers_only(settings, admin_client):
    settings.CHECKSTACK_PUBLIC_URL = "https://status.example.com"
    beat = make_check(kind="heartbeat", name="beat")
    viewer = client_for(make_user("viewer", "checks.view_check"))

    shown = admin_client.get(change_url(beat)).content.decode()
    hidden_response = viewer.get(change_url(beat))
    hidden = hidden_response.content.decode()

    assert hidden_response.status_code == 200 and "beat" in hidden  # the page itself is visible

    assert f"https://status.example.com/ping/{beat.heartbeat_token}" in shown
    assert beat.heartbeat_token not in hidden


def test_check_page_and_list_show_results_with_errors_masked(admin_client):
    secret_set(name="API_TOKEN", value="s3cr3t-value")
    check = make_check(headers={"Authorization": 'Bearer {{ secret("API_TOKEN") }}'})
    CheckResult.objects.create(check_ref=check, at=timezone.now(), ok=False, latency_ms=12,
                               error="401 with s3cr3t-value")
    Check.objects.filter(pk=check.pk).update(last_ok=False, last_run_at=timezone.now(), consecutive_failures=1,
                                             last_error="401 with s3cr3t-value")

    page = admin_client.get(change_url(check)).content.decode()
    listing = admin_client.get(CHANGELIST).content.decode()

    assert "401 with ***" in page and "s3cr3t-value" not in page
    assert "failed at" in listing


# --- the system admin: health policy, the 409's admin twin, the checks panel


def system_form(system, **overrides):
    data = {"name": system.name, "description": "", "metadata": "{}", "health_status": "", "health_message": "",
            "health_latency_ms": "", "health_source": system.health_source,
            "health_failure_threshold": str(system.health_failure_threshold),
            "health_degraded_latency_ms": "" if system.health_degraded_latency_ms is None
            else str(system.health_degraded_latency_ms)}
    return {**data, **overrides}


def system_url(system):
    return f"/admin/catalog/system/{system.pk}/change/"


def test_system_admin_saves_the_health_policy(admin_client):
    system = make_system("api")
    before = log_size()

    response = admin_client.post(system_url(system), system_form(
        system, health_source="checks", health_failure_threshold="5", health_degraded_latency_ms="800"))

    assert response.status_code == 302
    system.refresh_from_db()
    assert (system.health_source, system.health_failure_threshold, system.health_degraded_latency_ms) == (
        "checks", 5, 800)
    assert log_size() == before  # the policy is not reactive state: no change event


@pytest.mark.parametrize("overrides, field", [({"health_failure_threshold": "0"}, "health_failure_threshold"),
                                              ({"health_failure_threshold": "101"}, "health_failure_threshold"),
                                              ({"health_degraded_latency_ms": "0"}, "health_degraded_latency_ms"),
                                              ({"health_source": "gossip"}, "health_source")])
def test_system_admin_bad_policy_is_a_form_error(admin_client, overrides, field):
    system = make_system("api")

    response = admin_client.post(system_url(system), system_form(system, **overrides))

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    system.refresh_from_db()
    assert (system.health_source, system.health_failure_threshold) == ("reported", 3)


def test_setting_health_of_a_checks_managed_system_is_a_form_error(admin_client):
    system = make_system("api")
    health_report(system=system, status="healthy", actor=ACTOR)
    system_update(system=system, health_source=HealthSource.CHECKS, actor=ACTOR)
    system = System.objects.get(pk=system.pk)
    before = log_size()

    response = admin_client.post(system_url(system), system_form(system, health_status="unhealthy"))

    assert response.status_code == 200
    assert "health comes from its checks" in str(response.context["adminform"].form.errors["health_status"])
    assert log_size() == before
    assert SystemHealth.objects.get(pk=system.pk).status == "healthy"


def test_switching_to_reported_and_setting_health_in_one_save_works(admin_client):
    system = make_system("api")
    system_update(system=system, health_source=HealthSource.CHECKS, actor=ACTOR)
    system = System.objects.get(pk=system.pk)

    response = admin_client.post(system_url(system), system_form(system, health_source="reported",
                                                                  health_status="degraded"))

    assert response.status_code == 302
    assert SystemHealth.objects.get(pk=system.pk).status == "degraded"


def test_system_page_lists_its_checks_and_recent_results_masked(admin_client):
    secret_set(name="API_TOKEN", value="s3cr3t-value")
    check = make_check(name="home", headers={"Authorization": 'Bearer {{ secret("API_TOKEN") }}'})
    CheckResult.objects.create(check_ref=check, at=timezone.now(), ok=False, latency_ms=40,
                               error="refused s3cr3t-value")

    page = admin_client.get(system_url(check.system)).content.decode()

    assert f"/admin/checks/check/{check.pk}/change/" in page
    assert "refused ***" in page and "s3cr3t-value" not in page
    assert "40 ms" in page


def test_adding_starts_by_choosing_the_kind(admin_client):
    make_system()

    page = admin_client.get(ADD).content.decode()

    for kind in ("http", "tcp", "dns", "heartbeat"):
        assert f'href="?kind={kind}"' in page, kind
    assert 'name="url"' not in page and 'name="host"' not in page


@pytest.mark.parametrize("kind, shown, hidden", [
    ("http", ["url", "http_method", "headers"], ["host", "dns_name", "heartbeat_grace_seconds"]),
    ("tcp", ["host", "port"], ["url", "dns_name", "heartbeat_grace_seconds"]),
    ("dns", ["dns_name", "dns_resolver"], ["url", "host", "heartbeat_grace_seconds"]),
    ("heartbeat", ["heartbeat_grace_seconds"], ["url", "host", "dns_name"]),
])
def test_the_add_form_shows_only_the_chosen_kinds_fields(admin_client, kind, shown, hidden):
    page = admin_client.get(f"{ADD}?kind={kind}").content.decode()

    for name in ["system", "name", "interval_seconds", *shown]:
        assert f'name="{name}"' in page, name
    for name in hidden:
        assert f'name="{name}"' not in page, name
    assert f'<input type="hidden" name="kind" value="{kind}"' in page


def test_a_tcp_check_is_added_from_its_own_form(admin_client):
    system = make_system()
    data = {"system": str(system.pk), "name": "db port", "kind": "tcp", "enabled": "on", "interval_seconds": "60",
            "timeout_seconds": "10", "host": "db.internal", "port": "5432"}

    response = admin_client.post(f"{ADD}?kind=tcp", data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    check = Check.objects.get()
    assert (check.kind, check.host, check.port, check.url) == ("tcp", "db.internal", 5432, "")


def test_a_checks_page_shows_its_kind_fixed_and_only_its_fields(admin_client):
    check = make_check(name="web")  # http

    page = admin_client.get(change_url(check)).content.decode()
    response = admin_client.post(change_url(check), {
        "system": str(check.system.pk), "name": "web", "enabled": "on", "interval_seconds": "120",
        "timeout_seconds": "10", "url": check.url, "http_method": "GET", "expected_status_codes": "[]",
        "body_keyword": "", "headers": "{}", "heartbeat_grace_seconds": "60", "kind": "tcp"})

    assert 'name="url"' in page and 'name="host"' not in page and 'name="kind"' not in page
    assert response.status_code == 302, response.context["adminform"].form.errors
    check.refresh_from_db()
    assert (check.kind, check.interval_seconds) == ("http", 120)  # a posted kind is ignored
