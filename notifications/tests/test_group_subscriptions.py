"""Subscribers following groups: every system of the group (added later too), one email per change."""

import pytest
from django.core import mail
from django.utils import timezone

from catalog.groups import group_create
from catalog.services import system_create, system_update
from incidents.services import incident_create
from notifications.conf import confirm_max_age
from notifications.models import NotificationSend, Subscriber
from notifications.subscribers import (
    subscriber_confirm,
    subscriber_create,
    subscriber_request,
    subscribers_purge_expired,
)

from .support import inboxes, pump

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def payments():
    """Group Payments holds api and billing; db is in no group."""
    group = group_create(name="Payments", actor="system")
    api = system_create(name="api", group_id=group.pk, actor="system")
    billing = system_create(name="billing", group_id=group.pk, actor="system")
    db = system_create(name="db", actor="system")
    return group, api, billing, db


def test_a_system_chosen_directly_and_through_its_group_is_one_email(payments):
    group, api, billing, db = payments
    subscriber_create(email="ann@example.com", system_ids=[api.pk], group_ids=[group.pk], confirmed=True,
                      actor="system")
    subscriber_create(email="bob@example.com", group_ids=[group.pk], confirmed=True, actor="system")
    subscriber_create(email="cid@example.com", system_ids=[db.pk], confirmed=True, actor="system")
    pump()
    mail.outbox.clear()

    incident_create(title="Payments down", system_ids=[api.pk, billing.pk], actor="user:ops")
    pump()

    assert inboxes() == {"ann@example.com": ["Incident: Payments down"],
                         "bob@example.com": ["Incident: Payments down"]}
    assert NotificationSend.objects.count() == 2


def test_a_system_added_to_the_group_later_is_heard_about(payments):
    group, _api, _billing, db = payments
    subscriber_create(email="bob@example.com", group_ids=[group.pk], confirmed=True, actor="system")
    incident_create(title="db slow", system_ids=[db.pk], actor="user:ops")
    pump()
    assert inboxes() == {}

    system_update(system=db, group_id=group.pk, actor="user:ops")
    incident_create(title="db down", system_ids=[db.pk], actor="user:ops")
    pump()

    assert inboxes() == {"bob@example.com": ["Incident: db down"]}


def test_a_public_request_for_a_group_is_followed_once_confirmed(payments):
    group, api, _billing, _db = payments
    subscriber_request(email="Dee@Example.com", system_ids=[], group_ids=[group.pk], actor="public")
    pump()
    [confirmation] = mail.outbox
    assert "Payments (every system in the group)" in confirmation.body
    subscriber = Subscriber.objects.get(email="dee@example.com")
    assert list(subscriber.groups.all()) == [] and subscriber.requested_group_ids == [str(group.pk)]

    assert subscriber_confirm(subscriber=subscriber, now=timezone.now(), max_age=confirm_max_age(), actor="public")

    subscriber.refresh_from_db()
    assert list(subscriber.groups.all()) == [group] and subscriber.requested_group_ids == []
    mail.outbox.clear()
    incident_create(title="api down", system_ids=[api.pk], actor="user:ops")
    pump()
    assert inboxes() == {"dee@example.com": ["Incident: api down"]}


def test_a_confirmed_group_follower_is_not_purged_as_expired(payments):
    group = payments[0]
    subscriber_create(email="bob@example.com", group_ids=[group.pk], actor="system")
    Subscriber.objects.update(confirmation_requested_at=timezone.now() - confirm_max_age() * 2)
    assert subscribers_purge_expired(now=timezone.now(), max_age=confirm_max_age()) == 0


def test_the_api_takes_and_shows_group_ids(admin_api, payments):
    group, api, *_ = payments

    created = admin_api.post("/api/v1/subscribers/", {"email": "ann@example.com", "group_ids": [str(group.pk)]},
                             format="json")

    assert created.status_code == 201, created.content
    assert (created.json()["group_ids"], created.json()["system_ids"]) == ([str(group.pk)], [])
    subscriber_id = created.json()["id"]
    assert admin_api.get(f"/api/v1/subscribers/?group={group.pk}").json()["count"] == 1
    nothing = admin_api.patch(f"/api/v1/subscribers/{subscriber_id}/", {"group_ids": []}, format="json")
    assert nothing.status_code == 400 and "group_ids" in nothing.json()
    unknown = admin_api.post("/api/v1/subscribers/", {"email": "bob@example.com", "group_ids": [str(api.pk)]},
                             format="json")
    assert unknown.status_code == 400 and "group_ids" in unknown.json()
    assert list(Subscriber.objects.values_list("email", flat=True)) == ["ann@example.com"]


def test_the_admin_edits_groups_through_the_service(admin_client, payments):
    group, api, *_ = payments

    response = admin_client.post("/admin/notifications/subscriber/add/", {
        "email": "ann@example.com", "systems": [str(api.pk)], "groups": [str(group.pk)], "confirmed": "on"})

    assert response.status_code == 302
    subscriber = Subscriber.objects.get()
    assert (list(subscriber.groups.all()), list(subscriber.systems.all())) == ([group], [api])
    listing = admin_client.get("/admin/notifications/subscriber/").content.decode()
    assert "Payments (group), api" in listing
