"""Attacks on the public subscription pages and the emails: each fails with nothing saved or sent, never a 500.

Also run on PostgreSQL, which (unlike SQLite) rejects a NUL byte in a query parameter.
"""

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone

from catalog.services import system_create
from incidents.services import incident_create
from notifications.messages import header_safe
from notifications.models import NotificationSend, SendStatus, Subscriber
from notifications.subscribers import subscriber_create

from .support import SUBSCRIBE, fresh_rate_limits, pump  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.postgres, pytest.mark.usefixtures("fresh_rate_limits")]


@pytest.fixture
def api():
    return system_create(name="api", actor="system")


@pytest.fixture
def ann(api):
    """Confirmed, following api, with a new request (for db) waiting for her confirmation."""
    subscriber = subscriber_create(email="ann@example.com", system_ids=[api.pk], confirmed=True, actor="system")
    Subscriber.objects.filter(pk=subscriber.pk).update(
        requested_system_ids=[str(system_create(name="db", actor="system").pk)],
        confirmation_requested_at=timezone.now())
    subscriber.refresh_from_db()
    return subscriber


def _rows():
    return list(Subscriber.objects.order_by("pk").values_list()), list(
        Subscriber.systems.through.objects.order_by("pk").values_list())


def test_a_title_with_header_unsafe_characters_is_sent_with_a_one_line_subject(ann, api):
    pump()
    mail.outbox.clear()
    incident_create(title="DB down\r\nBcc: evil@example.com\x0b\u2028again\x1b[31m", system_ids=[api.pk],
                    actor="user:ops")
    pump()
    [email] = mail.outbox
    assert email.subject == "Incident: DB down Bcc: evil@example.com again [31m"
    message = email.message()
    assert message["Bcc"] is None and email.recipients() == ["ann@example.com"]
    assert "\n" not in message["Subject"].replace("\n ", "") and "\r" not in str(message["Subject"])
    assert NotificationSend.objects.get().status == SendStatus.SENT


def test_header_safe_turns_every_control_and_line_separator_into_one_space():
    assert header_safe("a\x00b\r\nc\u2029d\u202ee  f\t") == "a b c d e f"
    assert header_safe("Café ☕ — ok") == "Café ☕ — ok"


def test_the_unsubscribe_link_confirms_nothing_and_the_confirm_link_unsubscribes_nobody(ann):
    before = _rows()
    # A forwarded notification's unsubscribe secret, used on the confirm page (GET and POST).
    assert Client().get(f"{SUBSCRIBE}confirm/{ann.unsubscribe_token}/").status_code == 404
    assert Client().post(f"{SUBSCRIBE}confirm/{ann.unsubscribe_token}/").status_code == 404
    # The confirm secret, on the unsubscribe page.
    assert Client().get(f"{SUBSCRIBE}unsubscribe/{ann.token}/").status_code == 404
    assert Client().post(f"{SUBSCRIBE}unsubscribe/{ann.token}/").status_code == 200  # idempotent page…
    assert _rows() == before  # …that removed nobody and confirmed nothing
    assert ann.token != ann.unsubscribe_token


def test_emails_carry_rfc_8058_one_click_headers_with_the_unsubscribe_secret(ann, api):
    pump()
    [confirmation] = mail.outbox
    assert confirmation.extra_headers["List-Unsubscribe"] == (
        f"<http://localhost:8000/status/subscribe/unsubscribe/{ann.unsubscribe_token}/>")
    assert confirmation.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"/confirm/{ann.token}/" in confirmation.body


def test_a_get_of_the_unsubscribe_link_as_a_mail_scanner_does_unsubscribes_nobody(ann):
    before = _rows()
    page = Client().get(f"{SUBSCRIBE}unsubscribe/{ann.unsubscribe_token}/")
    assert page.status_code == 200 and "<form method=\"post\">" in page.content.decode()
    Client().head(f"{SUBSCRIBE}unsubscribe/{ann.unsubscribe_token}/")
    assert _rows() == before


MALFORMED_TOKENS = [
    "%00", "abc%00def" * 4, "%0d%0aSet-Cookie:%20x=1" + "a" * 20, "a" * 65, "short", "%E2%80%A8" * 10,
    "..%2f..%2fadmin" + "a" * 20, "%ff%fe" * 10, "<script>alert(1)</script>" + "a" * 20, "%F0%9F%98%80" * 8,
]


@pytest.mark.parametrize("page", ["confirm", "unsubscribe"])
@pytest.mark.parametrize("token", MALFORMED_TOKENS)
def test_malformed_tokens_are_a_404_and_change_nothing(ann, page, token):
    before = _rows()
    for method in ("get", "post", "head"):
        response = getattr(Client(), method)(f"{SUBSCRIBE}{page}/{token}/")
        assert response.status_code == 404, (method, response.status_code)
    assert _rows() == before


FUZZED_GETS = [
    "/status/?system=%00", "/status/%00", "/status/subscribe/?system=%00&system=%0d%0a",
    "/status/subscribe/sent/%00", "/status/subscribe/?email=%00", "/healthz%00", "/status/?%00=%00",
]


@pytest.mark.parametrize("path", FUZZED_GETS)
def test_nul_bytes_and_line_breaks_in_public_urls_are_never_a_500(ann, path):
    response = Client().get(path)
    assert response.status_code < 500, response.status_code


@pytest.mark.parametrize("data", [
    {"email": "a\x00@example.com", "systems": ["api"]},
    {"email": "a@example.com", "systems": ["api\x00"]},
    {"email": "a@example.com\r\nBcc: b@example.com", "systems": ["api"]},
    {"email": "a@example.com", "systems": ["\r\n"]},
    {"email": "\u2028@example.com", "systems": ["api"]},
])
def test_header_unsafe_subscribe_input_is_a_form_error_with_nothing_saved_or_sent(ann, data):
    pump()
    mail.outbox.clear()
    before = _rows()
    response = Client().post(SUBSCRIBE, data)
    assert response.status_code == 400
    pump()
    assert _rows() == before and mail.outbox == []


def test_behind_a_proxy_each_client_has_its_own_bucket_and_cannot_forge_one(api, settings):
    """One proxy in front (CHECKSTACK_TRUSTED_PROXIES=1): every request arrives from the proxy's address."""
    settings.CHECKSTACK_TRUSTED_PROXIES = 1
    settings.CHECKSTACK_SUBSCRIBE_LIMIT_PER_CLIENT = 2

    def post(forwarded_for, n):
        client = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded_for)
        return client.post(SUBSCRIBE, {"email": f"u{n}@example.com", "systems": ["api"]}).status_code

    # A client prepending made-up hops still counts as the address the proxy appended (the right-most).
    assert [post(f"198.51.100.{n}, 203.0.113.5", n) for n in range(3)] == [303, 303, 429]
    assert post("203.0.113.6", 9) == 303  # another client behind the same proxy is not affected
    assert Subscriber.objects.count() == 3


def test_without_trusted_proxies_the_forwarded_header_is_ignored(api, settings):
    settings.CHECKSTACK_SUBSCRIBE_LIMIT_PER_CLIENT = 1
    codes = [Client(REMOTE_ADDR="192.0.2.9", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").post(
        SUBSCRIBE, {"email": f"v{n}@example.com", "systems": ["api"]}).status_code for n in range(2)]
    assert codes == [303, 429]  # REMOTE_ADDR counts; a forged header does not open a new bucket


def test_the_limits_count_in_the_database_every_web_process_shares(api, settings):
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    Client(REMOTE_ADDR="192.0.2.10").post(SUBSCRIBE, {"email": "w@example.com", "systems": ["api"]})
    table = connection.ops.quote_name(settings.CACHES["default"]["LOCATION"])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT cache_key FROM {table}")  # a settings value, not input
        keys = sorted(row[0] for row in cursor.fetchall())
    assert [key.split(":")[4] for key in keys] == ["subscribe-address", "subscribe-client"]
