"""The maintenance actions and the in_maintenance fact, executed as a run's action step executes them."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from pydantic import ValidationError

from automation.definitions import action, definitions
from automation.entities.values import iso_utc
from automation.tests.definitions_support import run_action
from maintenance.actions import NO_TARGET
from maintenance.facts import system_in_maintenance
from maintenance.models import MaintenanceUpdate, MaintenanceWindow
from maintenance.services import maintenance_close

from .factories import T0, T0_ISO, T2H_ISO, events, log_counts, make_system, make_window, transitions

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

UNKNOWN_ID = "8d6a4c1e-0000-4000-8000-000000000000"


def artifact_of(window) -> dict:
    window.refresh_from_db()
    return {
        "maintenance_id": str(window.pk), "status": window.status,
        "system_ids": sorted(str(link.system_id) for link in window.system_links.all()),
        "start_at": iso_utc(window.start_at), "end_at": iso_utc(window.end_at),
    }


def test_create_schedules_a_window_attributed_to_the_run():
    api = make_system()

    outcome, context = run_action("maintenance.create", {
        "title": "Upgrade", "system_ids": [str(api.pk)], "start_at": T0_ISO, "end_at": T2H_ISO,
    })

    window = MaintenanceWindow.objects.get()
    expected = {"maintenance_id": str(window.pk), "status": "scheduled", "system_ids": [str(api.pk)],
                "start_at": T0_ISO, "end_at": T2H_ISO}
    assert outcome.success and outcome.artifact == expected
    assert outcome.result == {"maintenance_id": str(window.pk), "status": "scheduled"}
    assert transitions(window.pk) == [
        ("end_at", None, T2H_ISO, context.actor),
        ("start_at", None, T0_ISO, context.actor),
        ("status", None, "scheduled", context.actor),
        ("system_ids", None, [str(api.pk)], context.actor),
    ]
    assert events(window.pk)[0].depth == 1


def test_create_on_an_unknown_system_fails_and_writes_nothing():
    before = log_counts()

    outcome, _ = run_action("maintenance.create", {
        "title": "Upgrade", "system_ids": [UNKNOWN_ID], "start_at": T0_ISO, "end_at": T2H_ISO,
    })

    assert (outcome.success, outcome.error) == (False, f"system_ids: Unknown system id(s): {UNKNOWN_ID}.")
    assert MaintenanceWindow.objects.count() == 0 and log_counts() == before


def test_update_uses_the_artifact_and_leaves_unset_fields_alone():
    window = make_window(systems=[make_system()], title="Old")
    later = "2026-12-01T12:00:00Z"

    outcome, context = run_action("maintenance.update", {"title": "New", "end_at": later},
                                  consumed={"maintenance_window": artifact_of(window)})

    assert outcome.success and outcome.artifact is None
    window.refresh_from_db()
    assert (window.title, window.description, window.start_at) == ("New", "", T0)
    assert transitions(window.pk)[-1] == ("end_at", T2H_ISO, later, context.actor)


def test_update_refusing_end_before_start_fails_and_writes_nothing():
    window = make_window()
    before = log_counts()

    outcome, _ = run_action("maintenance.update", {"maintenance_id": str(window.pk),
                                                   "end_at": "2026-12-01T08:00:00Z"})

    assert (outcome.success, outcome.error) == (False, "end_at: End must be after start.")
    assert log_counts() == before


def test_an_explicit_id_wins_over_the_artifact():
    upstream, chosen = make_window(title="upstream"), make_window(title="chosen")

    outcome, _ = run_action("maintenance.add_update", {
        "maintenance_id": str(chosen.pk), "message": "Starting", "status_change": "in_progress",
    }, consumed={"maintenance_window": artifact_of(upstream)})

    update = MaintenanceUpdate.objects.get()
    assert outcome.result == {"maintenance_id": str(chosen.pk), "status": "in_progress", "update_id": str(update.pk)}
    assert update.window_id == chosen.pk
    upstream.refresh_from_db()
    assert upstream.status == "scheduled"


def test_a_comment_only_update_writes_no_change_event():
    window = make_window()
    before = log_counts()

    outcome, context = run_action("maintenance.add_update", {"message": "On track"},
                                  consumed={"maintenance_window": artifact_of(window)})

    assert outcome.success and outcome.result["status"] == "scheduled"
    update = MaintenanceUpdate.objects.get()
    assert (update.message, update.status_change, update.created_by) == ("On track", None, context.actor)
    assert log_counts() == before


@pytest.mark.parametrize("action_id", ["maintenance.update", "maintenance.add_update", "maintenance.clear_system"])
def test_no_id_and_no_artifact_fails(action_id):
    config = {"message": "m"} if action_id == "maintenance.add_update" else {}

    outcome, _ = run_action(action_id, config)

    assert (outcome.success, outcome.error) == (False, NO_TARGET)


@pytest.mark.parametrize("raw", [UNKNOWN_ID, "nope"])
def test_unknown_window_fails(raw):
    outcome, _ = run_action("maintenance.clear_system", {"maintenance_id": raw})
    assert (outcome.success, outcome.error) == (False, f"Maintenance window {raw} not found")


def test_set_system_puts_the_system_in_maintenance_now():
    api, db = make_system("api"), make_system("db")
    assert not system_in_maintenance(str(api.pk))
    before = timezone.now()

    outcome, context = run_action("maintenance.set_system", {"system_id": str(api.pk), "duration_minutes": 45})

    window = MaintenanceWindow.objects.get()
    assert (window.title, window.status) == ("Maintenance of api", "in_progress")
    assert before <= window.start_at <= timezone.now()
    assert window.end_at - window.start_at == timedelta(minutes=45)
    assert outcome.artifact == artifact_of(window)
    assert transitions(window.pk)[2] == ("status", None, "in_progress", context.actor)
    assert system_in_maintenance(str(api.pk)) and not system_in_maintenance(str(db.pk))


def test_set_system_on_an_unknown_system_fails():
    outcome, _ = run_action("maintenance.set_system", {"system_id": UNKNOWN_ID, "duration_minutes": 5})
    assert (outcome.success, outcome.error) == (False, f"System {UNKNOWN_ID} not found")
    assert MaintenanceWindow.objects.count() == 0


def test_clear_system_completes_the_consumed_window_early():
    api = make_system()
    set_outcome, _ = run_action("maintenance.set_system", {"system_id": str(api.pk), "duration_minutes": 60})

    outcome, context = run_action("maintenance.clear_system", {"message": "Done early"},
                                  consumed={"maintenance_window": set_outcome.artifact})

    window = MaintenanceWindow.objects.get()
    assert outcome.result == {"maintenance_id": str(window.pk), "status": "completed"}
    assert transitions(window.pk)[-1] == ("status", "in_progress", "completed", context.actor)
    update = window.updates.get()
    assert (update.message, update.status_change, update.created_by) == ("Done early", "completed", context.actor)
    assert not system_in_maintenance(str(api.pk))


def test_clearing_a_completed_window_changes_nothing():
    window = make_window()
    maintenance_close(window=window, actor="system")
    before = log_counts()

    outcome, _ = run_action("maintenance.clear_system", {"maintenance_id": str(window.pk)})

    assert outcome.success and outcome.result["status"] == "completed"
    assert log_counts() == before and window.updates.count() == 1


def test_in_maintenance_counts_started_scheduled_windows_and_ignores_bad_ids():
    api, db, web = make_system("api"), make_system("db"), make_system("web")
    now = timezone.now()
    make_window(systems=[api], start_at=now - timedelta(minutes=1))  # scheduled, beat not there yet
    make_window(systems=[db], start_at=now + timedelta(hours=1))
    make_window(systems=[web], start_at=now - timedelta(hours=1), status="completed")

    assert system_in_maintenance(str(api.pk))
    assert not system_in_maintenance(str(db.pk)) and not system_in_maintenance(str(web.pk))
    assert not system_in_maintenance("not-a-system")
    assert definitions.health_facts["in_maintenance"] is system_in_maintenance


@pytest.mark.parametrize("action_id, config", [
    ("maintenance.create", {"title": "t", "system_ids": ["x"], "start_at": T2H_ISO, "end_at": T0_ISO}),
    ("maintenance.create", {"title": "t", "system_ids": ["x"], "start_at": "2026-12-01T09:00", "end_at": T2H_ISO}),
    ("maintenance.create", {"title": "t", "system_ids": [], "start_at": T0_ISO, "end_at": T2H_ISO}),
    ("maintenance.set_system", {"system_id": "x", "duration_minutes": 0}),
    ("maintenance.set_system", {"system_id": "x", "duration_minutes": 30 * 24 * 60 + 1}),
    ("maintenance.add_update", {"message": "m", "status_change": "paused"}),
    ("maintenance.clear_system", {"system": "x"}),
])
def test_config_schemas_refuse_bad_configs(action_id, config):
    with pytest.raises(ValidationError):
        action(action_id).config_schema.model_validate(config)


def test_registered_definitions():
    add, change = ("maintenance.add_maintenancewindow",), ("maintenance.change_maintenancewindow",)
    expected = {
        "maintenance.create": ("maintenance_window", (), False, add),
        "maintenance.set_system": ("maintenance_window", (), False, add),
        "maintenance.update": (None, ("maintenance_window",), False, change),
        "maintenance.add_update": (None, ("maintenance_window",), False, change),
        "maintenance.clear_system": (None, ("maintenance_window",), True, change),
    }
    for action_id, (produces, consumes, closes, perms) in expected.items():
        definition = action(action_id)
        assert (definition.produces, definition.consumes, definition.closes_consumed, definition.permissions) == (
            produces, consumes, closes, perms,
        )
    assert definitions.artifact_types["maintenance_window"].id_field == "maintenance_id"
    for perm in add + change:  # real permissions, so a run_as user can be granted them
        app_label, codename = perm.split(".")
        assert Permission.objects.filter(content_type__app_label=app_label, codename=codename).exists()
