"""/api/v1/channels/: CRUD with per-kind validation, write-only secrets, permissions, and the test endpoint."""

import pytest
from django.contrib.auth.models import Permission
from standardwebhooks.webhooks import Webhook

from catalog.services import system_create
from notifications.channels.models import Channel
from notifications.channels.vault import full_config
from testing.http_receiver import Receiver

pytestmark = pytest.mark.django_db

SLACK_URL = "https://hooks.slack.com/services/T000/B000/secret-part-123"


def create(api, **body):
    return api.post("/api/v1/channels/", {"name": "ops", "kind": "slack", "config": {"url": SLACK_URL},
                                          "events": ["incident.created"], **body}, format="json")


def test_create_stores_the_secret_encrypted_and_never_shows_it(admin_api):
    api_system = system_create(name="api", actor="system")
    response = create(admin_api, system_ids=[str(api_system.pk)])
    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: body[k] for k in ("name", "kind", "enabled", "config", "system_ids", "group_ids", "events")} == {
        "name": "ops", "kind": "slack", "enabled": True, "config": {}, "system_ids": [str(api_system.pk)],
        "group_ids": [], "events": ["incident.created"]}
    channel = Channel.objects.get()
    assert channel.config == {}
    assert b"secret-part-123" not in bytes(channel.secret_config)
    assert full_config(channel) == {"url": SLACK_URL}
    for url in ("/api/v1/channels/", f"/api/v1/channels/{channel.pk}/"):
        assert b"secret-part-123" not in admin_api.get(url).content


def test_public_config_parts_are_shown_with_their_defaults(admin_api):
    response = admin_api.post("/api/v1/channels/", {"name": "pd", "kind": "pagerduty",
                                                    "config": {"routing_key": "R0123456789abcdef"}}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["config"] == {"url": "https://events.pagerduty.com/v2/enqueue"}
    eu = admin_api.patch(f"/api/v1/channels/{response.json()['id']}/",
                         {"config": {"url": "https://events.eu.pagerduty.com/v2/enqueue"}}, format="json")
    assert eu.status_code == 200, eu.content
    assert eu.json()["config"] == {"url": "https://events.eu.pagerduty.com/v2/enqueue"}
    # The routing key left out of the edit is kept (it cannot be read back to be sent again).
    assert full_config(Channel.objects.get())["routing_key"] == "R0123456789abcdef"


@pytest.mark.parametrize("body, errors", [
    ({"kind": "sms"}, {"kind": ['"sms" is not a valid choice.']}),
    ({"config": {"url": "ftp://hooks.slack.com/x"}},
     {"config": {"url": ["must be an http:// or https:// URL with a host"]}}),
    ({"config": {}}, {"config": {"url": ["Field required"]}}),
    ({"config": {"url": SLACK_URL, "token": "x"}}, {"config": {"token": ["unknown field for a slack channel"]}}),
    ({"kind": "email", "config": {"addresses": ["not-an-address"]}},
     {"config": {"addresses": ["'not-an-address' is not an email address"]}}),
    ({"kind": "telegram", "config": {"bot_token": "nope", "chat_id": "1"}},
     {"config": {"bot_token": ["String should match pattern '^[0-9]+:[A-Za-z0-9_-]+$'"]}}),
    ({"events": ["incident.exploded"]}, {"events": {"0": ['"incident.exploded" is not a valid choice.']}}),
    ({"system_ids": ["00000000-0000-0000-0000-000000000001"]},
     {"system_ids": ["Unknown system id(s): 00000000-0000-0000-0000-000000000001."]}),
    ({"group_ids": ["00000000-0000-0000-0000-000000000002"]},
     {"group_ids": ["Unknown group id(s): 00000000-0000-0000-0000-000000000002."]}),
    ({"kind": "mattermost", "config": {"url": SLACK_URL, "channel": "a\x00b"}},
     {"config": {"channel": ["must not contain NUL characters"]}}),
    ({"config": {"url": "https://user:pw@hooks.slack.com/x"}},
     {"config": {"url": ["must not carry a user name or password"]}}),
])
def test_bad_input_is_a_400_with_field_errors_and_saves_nothing(admin_api, body, errors):
    response = create(admin_api, **body)
    assert (response.status_code, response.json()) == (400, errors)
    assert not Channel.objects.exists()


def test_an_error_never_echoes_a_secret(admin_api):
    response = create(admin_api, kind="pagerduty", config={"routing_key": "has spaces-secret-777"})
    assert response.status_code == 400
    assert b"secret-777" not in response.content


def test_the_name_is_unique(admin_api):
    assert create(admin_api).status_code == 201
    assert (create(admin_api).status_code, create(admin_api).json()) == (
        400, {"name": ["A channel with this name already exists."]})


def test_a_webhook_secret_is_generated_and_shown_once(admin_api):
    response = admin_api.post("/api/v1/channels/", {"name": "hook", "kind": "webhook",
                                                    "config": {"url": "https://example.com/in"}}, format="json")
    assert response.status_code == 201, response.content
    secret = response.json()["config"]["secret"]
    assert secret.startswith("whsec_")
    Webhook(secret)  # a valid Standard Webhooks secret
    again = admin_api.get(f"/api/v1/channels/{response.json()['id']}/")
    assert again.json()["config"] == {}
    assert full_config(Channel.objects.get())["secret"] == secret


def test_changing_the_kind_needs_the_new_kinds_secrets(admin_api):
    channel_id = create(admin_api).json()["id"]
    response = admin_api.patch(f"/api/v1/channels/{channel_id}/", {"kind": "discord"}, format="json")
    assert (response.status_code, response.json()) == (400, {"config": {"url": ["Field required"]}})
    assert Channel.objects.get().kind == "slack"


def grant(user, *codenames):
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="notifications",
                                                         codename__in=codenames))


def test_model_permissions_govern_reads_and_writes(api_client, django_user_model):
    viewer = django_user_model.objects.create_user("viewer")
    grant(viewer, "view_channel")
    api_client.force_authenticate(viewer)
    assert api_client.get("/api/v1/channels/").status_code == 200
    assert create(api_client).status_code == 403
    assert not Channel.objects.exists()
    api_client.force_authenticate(None)
    assert api_client.get("/api/v1/channels/").status_code == 401


def test_the_test_endpoint_sends_and_returns_what_the_service_answered(admin_api, settings):
    settings.CHECKSTACK_WEBHOOK_ALLOWLIST = ["127.0.0.1"]
    with Receiver(reply=b"ok") as receiver:
        channel_id = create(admin_api, config={"url": receiver.url}).json()["id"]
        response = admin_api.post(f"/api/v1/channels/{channel_id}/test/")
    assert response.json() == {"ok": True, "status_code": 200, "body": "ok", "error": None}
    assert len(receiver.requests) == 1
    assert receiver.requests[0]["body"]["blocks"][0]["text"]["text"] == "Test message from Checkstack (ops)"


def test_the_test_endpoint_reports_a_refusal_with_the_secret_masked(admin_api, settings):
    settings.CHECKSTACK_WEBHOOK_ALLOWLIST = ["127.0.0.1"]
    with Receiver(status=403, reply=b"invalid_token for secret-part-123") as receiver:
        channel_id = create(admin_api, config={"url": receiver.url + "/secret-part-123"}).json()["id"]
        response = admin_api.post(f"/api/v1/channels/{channel_id}/test/")
    assert response.json() == {"ok": False, "status_code": 403, "body": "invalid_token for ***",
                               "error": "HTTP 403: invalid_token for ***"}


def test_the_egress_guard_refuses_internal_addresses(admin_api):
    with Receiver() as receiver:
        channel_id = create(admin_api, config={"url": receiver.url}).json()["id"]
        response = admin_api.post(f"/api/v1/channels/{channel_id}/test/")
    assert response.json()["ok"] is False
    assert "127.0.0.1 (loopback)" in response.json()["error"]
    assert receiver.requests == []


def test_secrets_rotate_reencrypts_channel_credentials(settings):
    from io import StringIO

    from cryptography.fernet import Fernet, InvalidToken
    from django.core.management import call_command

    from notifications.tests.channel_support import make_channel

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CHECKSTACK_SECRETS_KEYS, settings.CHECKSTACK_SECRETS_KEY = [old], ""
    make_channel("ops", "slack", {"url": SLACK_URL})
    make_channel("mail", "email", {"addresses": ["ops@example.com"]})  # nothing secret: nothing to rotate
    settings.CHECKSTACK_SECRETS_KEYS = [new, old]
    out = StringIO()
    call_command("secrets_rotate", stdout=out)
    assert out.getvalue().strip() == "1 secret(s) re-encrypted with the newest key"
    sealed = bytes(Channel.objects.get(name="ops").secret_config)
    assert Fernet(new).decrypt(sealed) == f'{{"url": "{SLACK_URL}"}}'.encode()
    with pytest.raises(InvalidToken):
        Fernet(old).decrypt(sealed)
