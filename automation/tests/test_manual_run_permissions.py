"""POST automations/{id}/run/: the caller needs what saving needs, and a payload must fit its trigger."""

import pytest
from django.contrib.auth.models import Permission

from automation.models import Run
from automation.secrets import secret_set
from automation.services.automation_save import automation_save
from automation.services.automations import automation_create

pytestmark = pytest.mark.django_db

DOCUMENT = {"name": "hook", "triggers": [{"event": "automation.manual"}, {"event": "catalog.system_created"}],
            "actions": [{"action": "automation.webhook", "config": {
                "url": "https://hooks.example.com/x", "headers": {"Authorization": "{{ secret('TOKEN') }}"}}}]}


def make_user(django_user_model, name, *codenames):
    user = django_user_model.objects.create_user(name)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="automation",
                                                         codename__in=codenames))
    return django_user_model.objects.get(pk=user.pk)


@pytest.fixture
def automation(admin_user):
    secret_set(name="TOKEN", value="run-canary")
    return automation_save(document=DOCUMENT, editor=admin_user)  # acts as the superuser


def run(api_client, user, automation, body):
    api_client.force_authenticate(user)
    return api_client.post(f"/api/v1/automations/{automation.pk}/run/", body, format="json")


@pytest.mark.parametrize("held, missing", [
    (("change_automation", "use_secret"), "automation.send_webhook"),
    (("change_automation", "send_webhook"), "automation.use_secret"),
])
def test_a_caller_without_the_actions_permissions_cannot_borrow_run_as(
        django_user_model, api_client, automation, held, missing):
    user = make_user(django_user_model, "operator", "view_automation", *held)
    response = run(api_client, user, automation, {"payload": {}})
    assert (response.status_code, response.json()) == (403, {"detail": f"permission denied: {missing}"})
    assert not Run.objects.exists()


def test_without_change_automation_the_view_refuses_first(django_user_model, api_client, automation):
    user = make_user(django_user_model, "operator", "view_automation", "send_webhook", "use_secret")
    assert run(api_client, user, automation, {"payload": {}}).status_code == 403
    assert not Run.objects.exists()


def test_a_caller_holding_them_starts_a_run(django_user_model, api_client, automation):
    user = make_user(django_user_model, "operator", "view_automation", "change_automation", "send_webhook",
                     "use_secret")
    response = run(api_client, user, automation, {"payload": {"note": "any"}})
    assert response.status_code == 201
    started = Run.objects.get()
    assert (str(started.pk), started.event, started.payload, started.actor) == (
        response.json()["run_id"], "automation.manual", {"note": "any"}, "user:operator")


def test_a_payload_that_does_not_fit_the_trigger_is_a_400_with_field_errors(admin_user, api_client, automation):
    response = run(api_client, admin_user, automation,
                   {"trigger_id": "catalog_system_created", "payload": {"system_id": 5}})
    assert (response.status_code, response.json()) == (400, {
        "payload.system_id": ["Input should be a valid string"], "payload.name": ["Field required"]})
    assert not Run.objects.exists()


def test_a_payload_that_fits_the_trigger_starts_a_run_of_that_event(admin_user, api_client, automation):
    payload = {"system_id": "s-1", "name": "api"}
    response = run(api_client, admin_user, automation, {"trigger_id": "catalog_system_created", "payload": payload})
    assert response.status_code == 201
    started = Run.objects.get()
    assert (started.event, started.trigger_id, started.payload) == ("catalog.system_created",
                                                                    "catalog_system_created", payload)


def test_an_unknown_trigger_is_a_400(admin_user, api_client, automation):
    response = run(api_client, admin_user, automation, {"trigger_id": "nope", "payload": {}})
    assert (response.status_code, response.json()) == (400, {"trigger_id": ["no trigger 'nope' in this automation"]})
    assert not Run.objects.exists()


def test_an_automation_without_run_as_is_not_started(admin_user, api_client, automation):
    unowned = automation_create(document=automation.document | {"name": "unowned"}, actor="user:test", run_as=None)
    response = run(api_client, admin_user, unowned, {"payload": {}})
    assert (response.status_code, response.json()) == (
        400, {"run_as": ["this automation has no run_as user, so it cannot run; save it with one"]})
    assert not Run.objects.exists()
