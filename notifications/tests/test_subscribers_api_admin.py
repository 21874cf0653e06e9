"""Operators manage subscribers in the API and the admin; the link token never shows."""

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from rest_framework.test import APIClient

from catalog.services import system_create
from notifications.models import Subscriber

from .support import pump

pytestmark = pytest.mark.django_db
URL = "/api/v1/subscribers/"


@pytest.fixture
def api_system():
    return system_create(name="api", actor="system")


def user_with(django_user_model, *codenames):
    user = django_user_model.objects.create_user("op", password=None)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_crud_through_the_api(admin_api, api_system):
    created = admin_api.post(URL, {"email": "Ann@Example.com", "system_ids": [str(api_system.pk)]}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert set(body) == {"id", "email", "system_ids", "group_ids", "confirmed", "confirmed_at", "created_at",
                         "updated_at"}
    assert (body["email"], body["system_ids"], body["confirmed"]) == ("ann@example.com", [str(api_system.pk)], False)
    tokens = Subscriber.objects.values_list("token", "unsubscribe_token").get()
    listing = admin_api.get(URL)
    assert listing.json()["count"] == 1 and not any(token in listing.content.decode() for token in tokens)
    pump()
    assert [m.subject for m in mail.outbox] == ["Confirm your status notifications"]  # operators' adds confirm too

    detail = f"{URL}{body['id']}/"
    patched = admin_api.patch(detail, {"confirmed": True}, format="json")
    assert patched.status_code == 200 and patched.json()["confirmed"] is True
    assert admin_api.get(URL, {"confirmed": "true"}).json()["count"] == 1
    assert admin_api.delete(detail).status_code == 204
    assert not Subscriber.objects.exists()


@pytest.mark.parametrize("payload, field", [
    ({"email": "nope", "system_ids": []}, "email"),
    ({"email": "a@example.com", "system_ids": ["00000000-0000-0000-0000-000000000000"]}, "system_ids"),
    ({"email": "a@example.com", "system_ids": ["not-a-uuid"]}, "system_ids"),
    ({"email": "a@example.com"}, "system_ids"),
])
def test_bad_input_is_a_400_with_field_errors_and_saves_nothing(admin_api, api_system, payload, field):
    response = admin_api.post(URL, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Subscriber.objects.exists()


def test_a_taken_address_is_a_400_whatever_its_case(admin_api, api_system):
    admin_api.post(URL, {"email": "ann@example.com", "system_ids": [str(api_system.pk)]}, format="json")
    again = admin_api.post(URL, {"email": "ANN@example.com", "system_ids": [str(api_system.pk)]}, format="json")
    assert again.status_code == 400 and "email" in again.json()
    assert Subscriber.objects.count() == 1


def test_authentication_and_model_permissions(django_user_model, api_system):
    assert APIClient().get(URL).status_code == 401
    viewer = user_with(django_user_model, "view_subscriber")
    assert viewer.get(URL).status_code == 200
    assert viewer.post(URL, {"email": "a@example.com", "system_ids": [str(api_system.pk)]},
                       format="json").status_code == 403
    assert not Subscriber.objects.exists()


def test_admin_adds_a_subscriber_through_the_service_and_hides_the_token(admin_client, api_system):
    response = admin_client.post("/admin/notifications/subscriber/add/", {
        "email": "Op@Example.com", "systems": [str(api_system.pk)], "confirmed": "on"})
    assert response.status_code == 302, response.content[:2000]
    subscriber = Subscriber.objects.get()
    assert (subscriber.email, subscriber.confirmed, subscriber.confirmed_at is not None) == (
        "op@example.com", True, True)
    page = admin_client.get(f"/admin/notifications/subscriber/{subscriber.pk}/change/").content.decode()
    assert subscriber.token not in page and subscriber.unsubscribe_token not in page
    listing = admin_client.get("/admin/notifications/subscriber/").content.decode()
    assert "op@example.com" in listing and "api" in listing


def test_admin_form_error_for_a_taken_address(admin_client, api_system):
    admin_client.post("/admin/notifications/subscriber/add/", {"email": "op@example.com", "systems": [str(api_system.pk)]})
    response = admin_client.post("/admin/notifications/subscriber/add/", {
        "email": "OP@example.com", "systems": [str(api_system.pk)]})
    assert response.status_code == 200 and response.context["adminform"].form.errors["email"]
    assert Subscriber.objects.count() == 1
