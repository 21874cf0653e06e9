"""Channels in the admin: created through the service, secrets write-only, a test action, deliveries replayed."""

import pytest

from catalog.services import system_create
from incidents.services import incident_create
from notifications.channels.models import Channel, ChannelDelivery
from notifications.channels.vault import full_config
from notifications.tests.channel_support import make_channel, send_due
from testing.http_receiver import Receiver

pytestmark = pytest.mark.django_db

SECRET_URL = "https://hooks.slack.com/services/T0/B0/admin-secret-4242"


def test_adding_a_channel_seals_its_secret_and_the_page_never_shows_it(admin_client):
    response = admin_client.post("/admin/notifications/channel/add/", {
        "name": "ops", "kind": "slack", "enabled": "on", "config": "{}",
        "secrets": f'{{"url": "{SECRET_URL}"}}', "events": ["incident.created"]})
    assert response.status_code == 302, response.content.decode()[:3000]
    channel = Channel.objects.get()
    assert (channel.events, full_config(channel)) == (["incident.created"], {"url": SECRET_URL})
    page = admin_client.get(f"/admin/notifications/channel/{channel.pk}/change/")
    assert page.status_code == 200
    assert b"admin-secret-4242" not in page.content


def test_an_edit_without_secrets_keeps_them(admin_client):
    channel = make_channel("ops", "slack", {"url": SECRET_URL})
    response = admin_client.post(f"/admin/notifications/channel/{channel.pk}/change/", {
        "name": "ops2", "kind": "slack", "enabled": "on", "config": "{}", "secrets": "",
        "events": ["incident.resolved"]})
    assert response.status_code == 302
    channel.refresh_from_db()
    assert (channel.name, channel.events, full_config(channel)) == ("ops2", ["incident.resolved"], {"url": SECRET_URL})


def test_a_bad_config_is_a_form_error_saves_nothing_and_never_echoes_the_secret(admin_client):
    response = admin_client.post("/admin/notifications/channel/add/", {
        "name": "ops", "kind": "pagerduty", "enabled": "on", "config": "{}",
        "secrets": '{"routing_key": "bad key admin-secret-4242"}', "events": []})
    assert response.status_code == 200
    page = response.content.decode()
    assert "config.routing_key: String should match pattern" in page
    assert "admin-secret-4242" not in page
    assert not Channel.objects.exists()


def test_send_test_reports_what_the_service_answered(admin_client, settings):
    settings.CHECKSTACK_WEBHOOK_ALLOWLIST = ["127.0.0.1"]
    with Receiver(reply=b"ok") as receiver:
        channel = make_channel("ops", "slack", {"url": receiver.url})
        response = admin_client.post("/admin/notifications/channel/", {
            "action": "send_test", "_selected_action": [channel.pk]}, follow=True)
    assert "ops: delivered (HTTP 200) ok" in [str(m) for m in response.context["messages"]]
    assert len(receiver.requests) == 1


def test_a_failed_delivery_shows_its_error_and_replays(admin_client, settings):
    settings.CHECKSTACK_WEBHOOK_ALLOWLIST = ["127.0.0.1"]
    api = system_create(name="api", actor="system")
    with Receiver(script=[410]) as receiver:
        channel = make_channel("ops", "slack", {"url": receiver.url})
        incident_create(title="API down", system_ids=[api.pk], actor="user:test")
        assert send_due() == ["failed"]
        page = admin_client.get(f"/admin/notifications/channel/{channel.pk}/change/").content.decode()
        assert "HTTP 410" in page
        delivery = ChannelDelivery.objects.get()
        admin_client.post("/admin/notifications/channeldelivery/", {
            "action": "replay", "_selected_action": [delivery.pk]}, follow=True)
        assert ChannelDelivery.objects.get().status == "pending"
        assert send_due() == ["sent"]
    assert len(receiver.requests) == 2
