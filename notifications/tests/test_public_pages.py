"""The public subscribe → confirm → unsubscribe path, its CSRF and rate limits, and no address enumeration."""

import re

import pytest
from django.core import mail
from django.test import Client

from catalog.groups import group_create, group_set_systems
from catalog.services import system_create
from incidents.services import incident_create
from notifications.models import Subscriber
from notifications.subscribers import subscriber_create

from .support import SUBSCRIBE, fresh_rate_limits, inboxes, pump  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]


@pytest.fixture
def systems():
    return system_create(name="api", actor="system"), system_create(name="db", actor="system")


def link(message, kind: str) -> str:
    return re.search(rf"http://localhost:8000(/status/subscribe/{kind}/[^/\s]+/)", message.body).group(1)


def test_the_status_page_links_to_the_subscribe_form_which_carries_the_token_and_no_internal_ids(systems):
    page = Client().get("/status/")
    # The page is shared by every visitor (publicly cached): no form, no token; the form has its own page.
    assert 'href="/status/subscribe/"' in page.content.decode() and "csrfmiddlewaretoken" not in page.content.decode()
    form = Client().get("/status/subscribe/")
    html = form.content.decode()
    assert 'action="/status/subscribe/"' in html and "csrfmiddlewaretoken" in html
    assert 'value="api"' in html and str(systems[0].pk) not in html
    assert "no-cache" in form["Cache-Control"] and "private" in form["Cache-Control"]


def test_subscribe_confirm_notify_unsubscribe(systems):
    api, db = systems
    client = Client()
    response = client.post(SUBSCRIBE, {"email": "Dana@Example.com", "systems": ["api", "db"]})
    assert (response.status_code, response["Location"]) == (303, "/status/subscribe/sent/")
    subscriber = Subscriber.objects.get()
    assert (subscriber.email, subscriber.confirmed, subscriber.systems.count()) == ("dana@example.com", False, 0)

    pump()  # the worker sends the confirmation email
    incident_create(title="Before confirming", system_ids=[api.pk], actor="user:ops")
    pump()
    [confirmation] = mail.outbox  # nothing about the incident: not confirmed yet
    assert confirmation.subject == "Confirm your status notifications"
    confirm = link(confirmation, "confirm")

    page = client.get(confirm)  # a link scanner's GET confirms nothing
    assert page.status_code == 200 and "api" in page.content.decode()
    assert not Subscriber.objects.get().confirmed
    assert client.post(confirm).status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.confirmed and set(subscriber.systems.values_list("name", flat=True)) == {"api", "db"}

    mail.outbox.clear()
    incident_create(title="After confirming", system_ids=[api.pk, db.pk], actor="user:ops")
    pump()
    assert inboxes() == {"dana@example.com": ["Incident: After confirming"]}

    unsubscribe = link(mail.outbox[0], "unsubscribe")
    page = client.get(unsubscribe)  # a mail scanner's GET unsubscribes nobody: it gets the button
    assert page.status_code == 200 and '<button type="submit">Unsubscribe</button>' in page.content.decode()
    assert Subscriber.objects.filter(email="dana@example.com").exists()
    assert client.post(unsubscribe).status_code == 200
    assert not Subscriber.objects.exists()
    assert client.post(unsubscribe).status_code == 200  # idempotent, same page
    assert client.get(unsubscribe).status_code == 404  # the link is spent
    mail.outbox.clear()
    incident_create(title="After unsubscribing", system_ids=[api.pk], actor="user:ops")
    pump()
    assert mail.outbox == []


def test_one_click_unsubscribe_by_post_needs_no_csrf_token(systems):
    subscriber = subscriber_create(email="eve@example.com", system_ids=[systems[0].pk], confirmed=True, actor="x")
    response = Client(enforce_csrf_checks=True).post(f"/status/subscribe/unsubscribe/{subscriber.unsubscribe_token}/",
                                                      {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert not Subscriber.objects.exists()


def test_the_form_needs_a_csrf_token(systems):
    response = Client(enforce_csrf_checks=True).post(SUBSCRIBE, {"email": "a@example.com", "systems": ["api"]})
    assert response.status_code == 403
    assert not Subscriber.objects.exists()


@pytest.mark.parametrize("data, field", [
    ({"email": "not-an-address", "systems": ["api"]}, "email"),
    ({"email": "a@example.com", "systems": []}, "systems"),
    ({"email": "a@example.com", "systems": ["no-such-system"]}, "systems"),
])
def test_bad_input_is_a_form_error_and_saves_nothing(systems, data, field):
    response = Client().post(SUBSCRIBE, data)
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert not Subscriber.objects.exists()


def test_the_answer_does_not_tell_whether_an_address_is_subscribed(systems):
    subscriber_create(email="known@example.com", system_ids=[systems[0].pk], confirmed=True, actor="x")
    known = Client().post(SUBSCRIBE, {"email": "known@example.com", "systems": ["db"]})
    unknown = Client().post(SUBSCRIBE, {"email": "new@example.com", "systems": ["db"]})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert known.content == unknown.content
    # A request never changes what a confirmed address follows until its owner confirms.
    known_row = Subscriber.objects.get(email="known@example.com")
    assert list(known_row.systems.values_list("name", flat=True)) == ["api"]


def test_rate_limit_per_address_answers_429(systems, settings):
    settings.CHECKSTACK_SUBSCRIBE_LIMIT_PER_ADDRESS = 2
    posts = [Client(REMOTE_ADDR=f"10.0.0.{i}").post(SUBSCRIBE, {"email": "x@example.com", "systems": ["api"]})
             for i in range(3)]
    assert [p.status_code for p in posts] == [303, 303, 429]
    assert int(posts[-1]["Retry-After"]) > 0


def test_rate_limit_per_client_counts_every_post_and_answers_429(systems, settings):
    settings.CHECKSTACK_SUBSCRIBE_LIMIT_PER_CLIENT = 3
    client = Client(REMOTE_ADDR="192.0.2.7")
    codes = [client.post(SUBSCRIBE, {"email": f"u{i}@example.com" if i % 2 else "bad", "systems": ["api"]}).status_code
             for i in range(4)]
    assert codes == [400, 303, 400, 429]
    assert Subscriber.objects.count() == 1
    # Another client is not affected.
    assert Client(REMOTE_ADDR="192.0.2.8").post(SUBSCRIBE, {"email": "z@example.com",
                                                            "systems": ["api"]}).status_code == 303


def test_an_unknown_or_expired_link_is_a_clear_page(systems, settings):
    assert Client().get("/status/subscribe/confirm/not-a-token/").status_code == 404
    settings.CHECKSTACK_SUBSCRIBE_CONFIRM_DAYS = 0
    Client().post(SUBSCRIBE, {"email": "late@example.com", "systems": ["api"]})
    token = Subscriber.objects.get().token
    response = Client().post(f"/status/subscribe/confirm/{token}/")
    assert response.status_code == 410
    assert not Subscriber.objects.get().confirmed


def test_the_form_offers_groups_and_a_group_alone_is_a_valid_choice(systems):
    payments = group_create(name="Payments", actor="system")
    group_set_systems(group=payments, system_ids=[systems[0].pk], actor="system")

    html = Client().get(SUBSCRIBE).content.decode()
    response = Client().post(SUBSCRIBE, {"email": "gus@example.com", "groups": ["Payments"]})

    assert "<legend>Groups</legend>" in html and 'value="Payments"' in html and str(payments.pk) not in html
    assert response.status_code == 303
    subscriber = Subscriber.objects.get()
    assert [str(i) for i in subscriber.requested_group_ids] == [str(payments.pk)]


def test_neither_a_group_nor_a_system_is_a_form_error(systems):
    response = Client().post(SUBSCRIBE, {"email": "a@example.com"})

    assert response.status_code == 400 and not Subscriber.objects.exists()
    assert "Choose at least one group or system." in response.content.decode()
