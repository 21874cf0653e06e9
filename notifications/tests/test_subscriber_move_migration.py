"""Subscriber moved from catalog to notifications in the state only: every row, field, link and grant survives."""

from datetime import datetime, timezone

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from notifications.models import NotificationSend, Subscriber

pytestmark = pytest.mark.postgres

BEFORE_MOVE = [("catalog", "0002_subscriber"), ("notifications", "0001_initial")]
CONFIRMED_AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()  # the applied set changed: reload it for the next caller
    return executor


def _latest() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.fixture
def before_move(transactional_db):
    """The historical apps at the migration before the move; the database is brought back to the latest after."""
    executor = _migrate(BEFORE_MOVE)
    # Every applied migration (auth and contenttypes too), not only the ancestors of BEFORE_MOVE.
    yield executor.loader.project_state(list(executor.loader.applied_migrations)).apps
    _migrate(_latest())


def test_subscribers_their_fields_links_sends_and_grants_survive_the_move(before_move):
    # Given subscribers, their system links, a send and a permission grant written by the old model
    old = before_move
    System = old.get_model("catalog", "System")
    OldSubscriber = old.get_model("catalog", "Subscriber")
    api, db = System.objects.create(name="api"), System.objects.create(name="db")
    ann = OldSubscriber.objects.create(
        email="ann@example.com", token="ann-token", confirmed=True, confirmed_at=CONFIRMED_AT
    )
    ann.systems.set([api, db])
    bob = OldSubscriber.objects.create(
        email="bob@example.com", token="bob-token", requested_system_ids=[str(api.pk)],
        confirmation_requested_at=CONFIRMED_AT,
    )
    notification = old.get_model("notifications", "Notification").objects.create(
        change_id="00000000-0000-0000-0000-000000000001", kind="incident", entity_id="1", topic="incident_created"
    )
    old.get_model("notifications", "NotificationSend").objects.create(notification=notification, subscriber=ann)
    permission = old.get_model("auth", "Permission").objects.get(
        content_type__app_label="catalog", codename="view_subscriber"
    )
    viewer = old.get_model("auth", "User").objects.create(username="viewer")
    viewer.user_permissions.add(permission)

    # When the database migrates forward to the latest migrations
    _migrate(_latest())

    # Then the new model reads every row, field and link unchanged
    # (the old single token stays with the link that can still matter; notifications 0003)
    rows = {
        s.email: (s.pk, s.confirmed, s.confirmed_at, s.requested_system_ids, s.confirmation_requested_at,
                  sorted(system.name for system in s.systems.all()))
        for s in Subscriber.objects.prefetch_related("systems")
    }
    assert rows == {
        "ann@example.com": (ann.pk, True, CONFIRMED_AT, [], None, ["api", "db"]),
        "bob@example.com": (bob.pk, False, None, [str(api.pk)], CONFIRMED_AT, []),
    }
    ann_now, bob_now = Subscriber.objects.get(pk=ann.pk), Subscriber.objects.get(pk=bob.pk)
    # ann confirmed long ago: her mailed unsubscribe links keep working; her old token confirms nothing more.
    assert ann_now.unsubscribe_token == "ann-token" and len(ann_now.token) == 43
    # bob's confirmation is pending: his mailed confirm link keeps working; his unsubscribe secret is new.
    assert bob_now.token == "bob-token" and len(bob_now.unsubscribe_token) == 43
    assert len({ann_now.token, ann_now.unsubscribe_token, bob_now.token, bob_now.unsubscribe_token}) == 4
    assert [s.subscriber_id for s in NotificationSend.objects.all()] == [ann.pk]
    assert Subscriber._meta.db_table == "catalog_subscriber"
    assert Subscriber.systems.through._meta.db_table == "catalog_subscriber_systems"
    # and the grant moved with the content type
    assert User.objects.get(username="viewer").has_perm("notifications.view_subscriber")
