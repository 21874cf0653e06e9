"""Emails to the confirmed subscribers of affected systems, one per subscriber per change, never twice."""

import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from automation.entities import delivery
from automation.models import SubscriptionDelivery
from incidents.services import incident_add_update, incident_create, incident_resolve, incident_update
from maintenance.services import maintenance_add_update, maintenance_close, maintenance_create, maintenance_update
from notifications.conf import sweep_grace
from notifications.models import Notification, NotificationSend, SendStatus, Subscriber
from notifications.sending import notification_send
from notifications.sweeping import _hold_back, notifications_sweep

from .support import inboxes, make_world, pump, route_and_deliver

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return make_world()


def test_incident_created_on_two_systems_sends_one_email_per_confirmed_subscriber(world):
    api, db = world
    incident_create(title="API down", system_ids=[api.pk, db.pk], severity="critical",
                    initial_message="Looking into it", actor="user:ops")
    pump()
    assert inboxes() == {"ann@example.com": ["Incident: API down"], "bob@example.com": ["Incident: API down"]}
    ann = next(m for m in mail.outbox if m.to == ["ann@example.com"])
    token = Subscriber.objects.get(email="ann@example.com").unsubscribe_token
    assert f"/status/subscribe/unsubscribe/{token}/" in ann.body
    assert "Affected: api, db" in ann.body and "Severity: critical" in ann.body
    [(html, mimetype)] = ann.alternatives
    assert mimetype == "text/html" and f"unsubscribe/{token}/" in html
    assert ann.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_only_followers_of_an_affected_system_are_told(world):
    api, _db = world
    incident_create(title="API slow", system_ids=[api.pk], actor="user:ops")
    pump()
    assert inboxes() == {"ann@example.com": ["Incident: API slow"]}  # not bob (db), not carol (unconfirmed)


def test_status_changes_and_resolution_are_announced_but_not_comments_or_other_edits(world):
    api, _db = world
    incident = incident_create(title="API down", system_ids=[api.pk], actor="user:ops")
    pump()
    incident_add_update(incident=incident, message="Still digging", actor="user:ops")  # comment only
    incident_update(incident=incident, severity="critical", actor="user:ops")  # not a status change
    pump()
    assert len(mail.outbox) == 1
    incident_add_update(incident=incident, message="Found the bad deploy", status_change="identified",
                        actor="user:ops")
    incident_resolve(incident=incident, message="Rolled back", actor="user:ops")
    pump()
    assert inboxes()["ann@example.com"] == [
        "Incident: API down", "Incident update (identified): API down", "Resolved: API down"]
    assert "Found the bad deploy" in mail.outbox[1].body
    assert "Rolled back" in mail.outbox[2].body


def test_suppressed_incidents_and_windows_send_nothing(world):
    api, db = world
    incident = incident_create(title="Quiet", system_ids=[api.pk, db.pk], suppress_notifications=True,
                               actor="user:ops")
    incident_resolve(incident=incident, actor="user:ops")
    start = timezone.now() + timedelta(hours=1)
    maintenance_create(title="Quiet work", system_ids=[db.pk], start_at=start, end_at=start + timedelta(hours=1),
                       suppress_notifications=True, actor="user:ops")
    pump()
    assert mail.outbox == []
    assert not NotificationSend.objects.exists()


def test_maintenance_scheduled_started_completed_and_cancelled(world):
    _api, db = world
    start = timezone.now() + timedelta(hours=1)
    window = maintenance_create(title="DB upgrade", system_ids=[db.pk], start_at=start,
                                end_at=start + timedelta(hours=2), actor="user:ops")
    pump()
    maintenance_update(window=window, status="in_progress", actor="system")
    pump()
    maintenance_close(window=window, message="All done", actor="user:ops")
    pump()
    other = maintenance_create(title="Network", system_ids=[db.pk], start_at=start, end_at=start + timedelta(hours=1),
                               actor="user:ops")
    maintenance_add_update(window=other, message="Not needed after all", status_change="cancelled", actor="user:ops")
    pump()
    expected = ["Maintenance scheduled: DB upgrade", "Maintenance started: DB upgrade",
                "Maintenance completed: DB upgrade", "Maintenance scheduled: Network", "Maintenance cancelled: Network"]
    assert inboxes() == {"ann@example.com": expected, "bob@example.com": expected}
    completed = next(m for m in mail.outbox if m.subject.startswith("Maintenance completed"))
    assert "All done" in completed.body


def test_a_redelivered_change_and_a_resent_task_send_nothing_twice(world):
    api, _db = world
    incident_create(title="API down", system_ids=[api.pk], actor="user:ops")
    pump()
    assert len(mail.outbox) == 1
    # Redelivery of the same change (a worker died after running the handler but before acking): refused,
    # and running the handler itself again adds no send.
    [done] = SubscriptionDelivery.objects.filter(subscriber="notifications.incident")
    assert delivery.deliver_change(done.pk) is False
    from notifications.fanout import notifications_plan

    notifications_plan(delivery.as_change(done.change))
    [send] = NotificationSend.objects.all()
    assert notification_send(send_id=send.pk) is None  # a duplicate wake-up finds it sent
    assert (send.status, len(mail.outbox)) == (SendStatus.SENT, 1)
    assert Notification.objects.count() == 1


def test_a_subscriber_unconfirmed_before_its_turn_is_skipped(world):
    api, _db = world
    incident_create(title="API down", system_ids=[api.pk], actor="user:ops")
    route_and_deliver()
    Subscriber.objects.filter(email="ann@example.com").update(confirmed=False)
    [send] = NotificationSend.objects.all()
    assert notification_send(send_id=send.pk) is None
    send.refresh_from_db()
    assert (send.status, mail.outbox) == (SendStatus.SKIPPED, [])


class FlakyBackend:
    """A mail server that refuses for now (451) the first `refusals` messages, then accepts."""

    refusals = 1
    sent: list = []

    def __init__(self, **kwargs):
        pass

    def open(self):
        return True

    def close(self):
        pass

    def send_messages(self, messages):
        if FlakyBackend.refusals:
            FlakyBackend.refusals -= 1
            raise smtplib.SMTPResponseException(451, b"try again later")
        FlakyBackend.sent.extend(messages)
        return len(messages)


def test_a_temporary_refusal_is_retried_from_the_row_and_sent_once(world, settings):
    settings.EMAIL_BACKEND = f"{__name__}.FlakyBackend"
    FlakyBackend.refusals, FlakyBackend.sent = 1, []
    api, _db = world
    incident_create(title="API down", system_ids=[api.pk], actor="user:ops")
    pump()
    [send] = NotificationSend.objects.all()
    assert (send.status, send.attempts, "451" in send.last_error) == (SendStatus.PENDING, 1, True)
    assert send.next_attempt_at > timezone.now()  # backs off in the row, not in a Celery countdown
    # The sweeper wakes it once it is due; here we send it as the woken task would.
    NotificationSend.objects.filter(pk=send.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    assert notifications_sweep().woken == 1
    assert notification_send(send_id=send.pk) == SendStatus.SENT
    assert [m.to for m in FlakyBackend.sent] == [["ann@example.com"]]


def test_a_lost_worker_is_decided_by_whether_the_server_had_the_message(world, settings):
    api, _db = world
    incident_create(title="API down", system_ids=[api.pk], actor="user:ops")
    incident_create(title="API still down", system_ids=[api.pk], actor="user:ops")
    route_and_deliver()
    first, second = NotificationSend.objects.order_by("id")
    long_ago = timezone.now() - timedelta(hours=1)
    # Both claimed by a worker that died: the first after handing its message to the server, the second before.
    NotificationSend.objects.filter(pk=first.pk).update(status=SendStatus.SENDING, claimed_at=long_ago,
                                                        handed_at=long_ago, attempts=1)
    NotificationSend.objects.filter(pk=second.pk).update(status=SendStatus.SENDING, claimed_at=long_ago, attempts=1)
    result = notifications_sweep()
    assert (result.failed, result.recovered) == (1, 1)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == SendStatus.FAILED  # may have been sent: never re-sent
    assert second.status == SendStatus.PENDING
    assert notification_send(send_id=second.pk) == SendStatus.SENT
    assert [m.subject for m in mail.outbox] == ["Incident: API still down"]


def test_the_sweep_wakes_a_pending_send_again_only_once_held_back_as_long_as_it_was_owed(world):
    # Given a send owed for a minute whose wake-up is still queued (a backlog) or was lost
    api, _db = world
    incident_create(title="API down", system_ids=[api.pk], actor="user:ops")
    route_and_deliver()
    [send] = NotificationSend.objects.all()
    owed_for, grace = timedelta(minutes=1), sweep_grace()
    now = send.created_at + owed_for
    NotificationSend.objects.filter(pk=send.pk).update(next_attempt_at=send.created_at)
    # When the sweep wakes it, then sweeps again and again within the minute
    assert notifications_sweep(now=now).woken == 1
    assert [notifications_sweep(now=now + timedelta(seconds=s)).woken for s in (1, 30, 59)] == [0, 0, 0]
    # Then it was held back for as long as it had been owed, still pending, and woken again only after that
    send.refresh_from_db()
    assert (send.status, send.next_attempt_at) == (SendStatus.PENDING, now + owed_for)
    assert notifications_sweep(now=now + owed_for + grace).woken == 1


def test_holding_back_leaves_a_retry_back_off_written_meanwhile(world):
    # Given two sends woken by a sweep, one of which a worker then tried, failed and backed off for an hour
    api, _db = world
    incident_create(title="API down", system_ids=[api.pk], actor="user:ops")
    incident_create(title="API still down", system_ids=[api.pk], actor="user:ops")
    route_and_deliver()
    now = timezone.now()
    NotificationSend.objects.update(next_attempt_at=now - timedelta(minutes=1))
    due = NotificationSend.objects.filter(status=SendStatus.PENDING, next_attempt_at__lte=now - sweep_grace())
    woken = list(due.order_by("id"))
    backed_off = now + timedelta(hours=1)
    NotificationSend.objects.filter(pk=woken[1].pk).update(next_attempt_at=backed_off)
    # When the sweep holds its woken sends back
    _hold_back(due, woken, now=now)
    # Then the one still due is held back; the back-off stands
    held, tried = NotificationSend.objects.order_by("id")
    assert held.next_attempt_at == now + max(now - held.created_at, timedelta(seconds=1))
    assert tried.next_attempt_at == backed_off
