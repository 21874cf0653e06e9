"""Maintenance services: the exact transitions and change events each write leaves, and what it refuses."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from automation.entities.actor import acting_as
from automation.entities.tracked import UntrackedWriteError
from automation.models import ChangeEvent
from maintenance.models import MaintenanceSystem, MaintenanceUpdate, MaintenanceWindow
from maintenance.services import (
    maintenance_add_update,
    maintenance_close,
    maintenance_create,
    maintenance_delete,
    maintenance_remove_system,
    maintenance_update,
)

from .factories import T0, T0_ISO, T2H_ISO, events, log_counts, make_system, make_window, transitions

pytestmark = pytest.mark.django_db


def test_create_writes_a_transition_per_tracked_field_and_one_event():
    api, db = make_system("api"), make_system("db")
    ids = sorted([str(api.pk), str(db.pk)])

    window = make_window(systems=[db, api], description="v16", actor="user:ann")

    assert transitions(window.pk) == [
        ("end_at", None, T2H_ISO, "user:ann"),
        ("start_at", None, T0_ISO, "user:ann"),
        ("status", None, "scheduled", "user:ann"),
        ("system_ids", None, ids, "user:ann"),
    ]
    [event] = events(window.pk)
    state = {"status": "scheduled", "system_ids": ids, "start_at": T0_ISO, "end_at": T2H_ISO}
    assert (event.prev, event.next, event.delta) == (None, state, state)
    assert event.changed_fields == ["end_at", "start_at", "status", "system_ids"]
    assert event.actor == "user:ann"
    stored = MaintenanceWindow.objects.get(pk=window.pk)
    assert (stored.title, stored.description, stored.status) == ("Database upgrade", "v16", "scheduled")


@pytest.mark.parametrize("end_offset", [timedelta(0), timedelta(minutes=-1)])
def test_create_refuses_an_end_not_after_the_start_and_writes_nothing(end_offset):
    before = log_counts()

    with pytest.raises(ValidationError) as error:
        maintenance_create(title="x", start_at=T0, end_at=T0 + end_offset, actor="user:ann")

    assert error.value.message_dict == {"end_at": ["End must be after start."]}
    assert MaintenanceWindow.objects.count() == 0
    assert log_counts() == before


def test_create_refuses_unknown_systems_and_writes_nothing():
    api = make_system("api")
    before = log_counts()

    with pytest.raises(ValidationError) as error:
        maintenance_create(
            title="x",
            start_at=T0,
            end_at=T0 + timedelta(hours=1),
            system_ids=[api.pk, "00000000-0000-4000-8000-000000000000"],
            actor="user:ann",
        )

    assert error.value.message_dict == {"system_ids": ["Unknown system id(s): 00000000-0000-4000-8000-000000000000."]}
    assert (MaintenanceWindow.objects.count(), MaintenanceSystem.objects.count()) == (0, 0)
    assert log_counts() == before


def test_update_records_only_tracked_fields_that_changed():
    window = make_window()

    maintenance_update(window=window, title="Renamed", actor="user:bob")
    assert len(events(window.pk)) == 1  # the title is descriptive, not tracked

    updated = maintenance_update(window=window, end_at=T0 + timedelta(hours=3), actor="user:bob")

    assert updated.end_at == T0 + timedelta(hours=3)
    assert MaintenanceWindow.objects.get(pk=window.pk).title == "Renamed"
    assert transitions(window.pk)[-1:] == [("end_at", T2H_ISO, "2026-12-01T12:00:00Z", "user:bob")]
    last = events(window.pk)[-1]
    assert (last.delta, last.changed_fields) == ({"end_at": "2026-12-01T12:00:00Z"}, ["end_at"])


def test_update_replaces_the_systems():
    api, db, web = make_system("api"), make_system("db"), make_system("web")
    window = make_window(systems=[api, db])

    maintenance_update(window=window, system_ids=[web.pk, db.pk], actor="user:bob")

    assert transitions(window.pk)[-1] == (
        "system_ids",
        sorted([str(api.pk), str(db.pk)]),
        sorted([str(db.pk), str(web.pk)]),
        "user:bob",
    )
    assert set(MaintenanceSystem.objects.filter(window=window).values_list("system_id", flat=True)) == {db.pk, web.pk}


def test_update_checks_the_times_against_the_stored_ones_and_writes_nothing_on_error():
    window = make_window()
    before = log_counts()

    with pytest.raises(ValidationError) as error:
        maintenance_update(window=window, end_at=T0 - timedelta(minutes=5), actor="user:bob")

    assert error.value.message_dict == {"end_at": ["End must be after start."]}
    assert MaintenanceWindow.objects.get(pk=window.pk).end_at == T0 + timedelta(hours=2)
    assert log_counts() == before


def test_update_rejects_unknown_fields():
    window = make_window()
    with pytest.raises(TypeError, match="created_at"):
        maintenance_update(window=window, created_at=T0, actor="user:bob")


def test_comment_only_update_adds_a_row_and_changes_no_tracked_state():
    window = make_window()
    before = log_counts()

    update = maintenance_add_update(window=window, message="Backups done", actor="user:ann")

    assert (update.message, update.status_change, update.created_by) == ("Backups done", None, "user:ann")
    assert list(window.updates.values_list("message", flat=True)) == ["Backups done"]
    assert log_counts() == before


def test_update_with_a_status_change_flips_the_status():
    window = make_window()

    update = maintenance_add_update(
        window=window, message="Starting early", status_change="in_progress", actor="user:ann"
    )

    assert update.status_change == "in_progress"
    assert MaintenanceWindow.objects.get(pk=window.pk).status == "in_progress"
    assert transitions(window.pk)[-1] == ("status", "scheduled", "in_progress", "user:ann")
    assert events(window.pk)[-1].changed_fields == ["status"]


@pytest.mark.parametrize(
    "message, status_change, errors",
    [
        ("  ", None, {"message": ["This field may not be blank."]}),
        ("ok", "paused", {"status_change": ['"paused" is not a valid maintenance status.']}),
    ],
)
def test_add_update_refuses_bad_input_and_writes_nothing(message, status_change, errors):
    window = make_window()
    before = log_counts()

    with pytest.raises(ValidationError) as error:
        maintenance_add_update(window=window, message=message, status_change=status_change, actor="user:ann")

    assert error.value.message_dict == errors
    assert (MaintenanceUpdate.objects.count(), log_counts()) == (0, before)


def test_close_completes_and_posts_an_update():
    window = make_window(status="in_progress")

    closed = maintenance_close(window=window, actor="user:ann")

    assert closed.status == "completed"
    assert transitions(window.pk)[-1] == ("status", "in_progress", "completed", "user:ann")
    assert list(window.updates.values_list("message", "status_change", "created_by")) == [
        ("Maintenance completed", "completed", "user:ann")
    ]


def test_close_uses_the_given_message_and_leaves_a_closed_window_alone():
    window = make_window()
    maintenance_close(window=window, message="Done early", actor="user:ann")
    before = log_counts()

    maintenance_close(window=window, message="again", actor="user:ann")

    assert list(window.updates.values_list("message", flat=True)) == ["Done early"]
    assert log_counts() == before


def test_delete_writes_a_tombstone_and_drops_updates_and_links():
    api = make_system("api")
    window = make_window(systems=[api])
    maintenance_add_update(window=window, message="note", actor="user:ann")

    maintenance_delete(window=window, actor="user:bob")

    assert transitions(window.pk)[-4:] == [
        ("end_at", T2H_ISO, None, "user:bob"),
        ("start_at", T0_ISO, None, "user:bob"),
        ("status", "scheduled", None, "user:bob"),
        ("system_ids", [str(api.pk)], None, "user:bob"),
    ]
    tombstone = events(window.pk)[-1]
    assert (tombstone.next, tombstone.delta, tombstone.actor) == (None, {}, "user:bob")
    assert not MaintenanceWindow.objects.exists()
    assert not MaintenanceUpdate.objects.exists()
    assert not MaintenanceSystem.objects.exists()


def test_remove_system_is_a_transition_and_idempotent():
    api, db = make_system("api"), make_system("db")
    window = make_window(systems=[api, db])

    maintenance_remove_system(window=window, system_id=api.pk, actor="system")
    maintenance_remove_system(window=window, system_id=api.pk, actor="system")

    assert transitions(window.pk)[-1] == ("system_ids", sorted([str(api.pk), str(db.pk)]), [str(db.pk)], "system")
    assert len(events(window.pk)) == 2


def test_untracked_bulk_writes_are_refused():
    window = make_window()
    with pytest.raises(UntrackedWriteError):
        MaintenanceWindow.objects.filter(pk=window.pk).update(status="cancelled")
    with pytest.raises(UntrackedWriteError):
        MaintenanceWindow.objects.filter(pk=window.pk).delete()
    assert MaintenanceWindow.objects.get(pk=window.pk).status == "scheduled"


def test_a_bare_save_is_tracked_as_the_acting_user():
    window = MaintenanceWindow.objects.get(pk=make_window().pk)
    window.status = "cancelled"

    with acting_as("user:shell"):
        window.save()

    assert transitions(window.pk)[-1] == ("status", "scheduled", "cancelled", "user:shell")
    assert ChangeEvent.objects.filter(entity_id=str(window.pk)).count() == 2
