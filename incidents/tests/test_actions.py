"""The incident actions, executed as a run's action step executes them (without the engine walker)."""

import threading

import pytest
from django.contrib.auth.models import Permission
from django.db import connection, transaction
from pydantic import ValidationError

from automation.definitions import action, definitions
from automation.models import ChangeEvent, Transition
from automation.tests.definitions_support import run_action
from incidents.actions import NO_TARGET
from incidents.models import Incident, IncidentUpdate
from incidents.services import incident_resolve
from testing.lock_waits import backend_pid, wait_until_waiting_on_lock

from .factories import change_events, make_incident, make_system, transitions_of

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

UNKNOWN_ID = "8d6a4c1e-0000-4000-8000-000000000000"


def artifact_of(incident) -> dict:
    incident.refresh_from_db()
    return {
        "incident_id": str(incident.pk),
        "status": incident.status,
        "severity": incident.severity,
        "system_ids": sorted(str(link.system_id) for link in incident.system_links.all()),
    }


def log_size() -> tuple[int, int]:
    return Transition.objects.count(), ChangeEvent.objects.count()


def test_create_opens_an_incident_attributed_to_the_run():
    api, db = make_system("api"), make_system("db")

    outcome, context = run_action("incident.create", {
        "title": "API down", "severity": "critical", "system_ids": [str(db.pk), str(api.pk)],
        "initial_message": "Looking into it",
    })

    incident = Incident.objects.get()
    assert outcome.success and outcome.error is None
    assert outcome.result == {"incident_id": str(incident.pk), "reused": False}
    assert outcome.artifact == {
        "incident_id": str(incident.pk), "status": "investigating", "severity": "critical",
        "system_ids": sorted([str(api.pk), str(db.pk)]),
    }
    [event] = change_events(incident)
    assert (event.actor, event.depth, event.prev) == (context.actor, 1, None)
    assert transitions_of(event) == {
        "status": (None, "investigating", context.actor),
        "severity": (None, "critical", context.actor),
        "system_ids": (None, sorted([str(api.pk), str(db.pk)]), context.actor),
    }
    [update] = incident.updates.all()
    assert (update.message, update.status_change, update.created_by) == (
        "Looking into it", "investigating", context.actor,
    )


def test_create_without_dedupe_opens_another_incident_on_the_same_system():
    api = make_system()
    existing = make_incident(systems=[api])

    outcome, _ = run_action("incident.create", {"title": "Again", "system_ids": [str(api.pk)]})

    assert outcome.success and outcome.result["incident_id"] != str(existing.pk)
    assert Incident.objects.count() == 2


def test_dedupe_reuses_the_open_incident_and_writes_nothing():
    api = make_system()
    existing = make_incident(systems=[api], severity="minor")
    before = log_size()

    outcome, _ = run_action("incident.create", {
        "title": "API down", "severity": "critical", "system_ids": [str(api.pk)], "initial_message": "hi",
        "dedupe_open_for_system": True,
    })

    assert outcome.success
    assert outcome.result == {"incident_id": str(existing.pk), "reused": True}
    assert outcome.artifact == artifact_of(existing)  # the existing incident as it is: severity minor
    assert outcome.artifact["severity"] == "minor"
    assert Incident.objects.count() == 1 and IncidentUpdate.objects.count() == 0
    assert log_size() == before  # no change event, so no second incident.created


def test_dedupe_looks_at_the_first_system_and_open_incidents_only():
    api, db = make_system("api"), make_system("db")
    resolved = make_incident(systems=[api])
    incident_resolve(incident=resolved, actor="system")
    make_incident(systems=[db])  # open, but on the second system

    outcome, context = run_action("incident.create", {
        "title": "API down", "system_ids": [str(api.pk), str(db.pk)], "dedupe_open_for_system": True,
    })

    assert outcome.result["reused"] is False
    created = Incident.objects.get(pk=outcome.result["incident_id"])
    assert created.status == "investigating"
    assert change_events(created)[0].actor == context.actor


@pytest.mark.parametrize("dedupe", [False, True])
def test_create_on_an_unknown_system_fails_and_writes_nothing(dedupe):
    before = log_size()

    outcome, _ = run_action("incident.create", {
        "title": "Ghost", "system_ids": [UNKNOWN_ID], "dedupe_open_for_system": dedupe,
    })

    assert not outcome.success
    assert outcome.error == f"system_ids: Unknown system id(s): {UNKNOWN_ID}."
    assert Incident.objects.count() == 0 and log_size() == before


def test_create_dedupe_with_a_malformed_system_id_fails():
    outcome, _ = run_action("incident.create", {
        "title": "x", "system_ids": ["not-a-uuid"], "dedupe_open_for_system": True,
    })
    assert (outcome.success, outcome.error) == (False, "system_ids: 'not-a-uuid' is not a valid system id.")


def test_resolve_uses_the_upstream_artifact():
    incident = make_incident(systems=[make_system()])

    outcome, context = run_action("incident.resolve", {}, consumed={"incident": artifact_of(incident)})

    assert outcome.success and outcome.artifact is None
    assert outcome.result == {"incident_id": str(incident.pk), "status": "resolved"}
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.resolved_at is not None
    last = change_events(incident)[-1]
    assert transitions_of(last) == {"status": ("investigating", "resolved", context.actor)}
    [update] = incident.updates.all()
    assert (update.message, update.created_by) == ("Incident resolved", context.actor)


def test_an_explicit_incident_id_wins_over_the_artifact():
    upstream, chosen = make_incident(title="upstream"), make_incident(title="chosen")

    outcome, _ = run_action("incident.resolve", {"incident_id": str(chosen.pk), "message": "Fixed"},
                            consumed={"incident": artifact_of(upstream)})

    assert outcome.success
    chosen.refresh_from_db()
    upstream.refresh_from_db()
    assert (chosen.status, upstream.status) == ("resolved", "investigating")
    assert chosen.updates.get().message == "Fixed"


@pytest.mark.parametrize("action_id", ["incident.resolve", "incident.add_update", "incident.update_status"])
def test_no_id_and_no_artifact_fails(action_id):
    config = {"message": "m", "status": "fixing"} if action_id == "incident.update_status" else {"message": "m"}

    outcome, _ = run_action(action_id, config)

    assert (outcome.success, outcome.error) == (False, NO_TARGET)


@pytest.mark.parametrize("raw", [UNKNOWN_ID, "not-a-uuid"])
def test_unknown_incident_fails_and_writes_nothing(raw):
    before = log_size()

    outcome, _ = run_action("incident.update_status", {"incident_id": raw, "status": "fixing"})

    assert (outcome.success, outcome.error) == (False, f"Incident {raw} not found")
    assert log_size() == before


def test_update_status_moves_the_status_with_a_default_message():
    incident = make_incident()

    outcome, context = run_action("incident.update_status", {"status": "fixing"},
                                  consumed={"incident": artifact_of(incident)})

    update = IncidentUpdate.objects.get()
    assert outcome.result == {"incident_id": str(incident.pk), "update_id": str(update.pk), "status": "fixing"}
    assert (update.message, update.status_change, update.created_by) == (
        "Status changed to fixing", "fixing", context.actor,
    )
    assert transitions_of(change_events(incident)[-1]) == {"status": ("investigating", "fixing", context.actor)}


def test_a_comment_only_update_writes_no_change_event():
    incident = make_incident()
    before = log_size()

    outcome, context = run_action("incident.add_update", {"incident_id": str(incident.pk), "message": "Still on it"})

    assert outcome.success and outcome.result["status"] == "investigating"
    update = IncidentUpdate.objects.get()
    assert (update.message, update.status_change, update.created_by) == ("Still on it", None, context.actor)
    assert log_size() == before


def test_an_update_with_a_status_change_records_it():
    incident = make_incident()

    outcome, context = run_action("incident.add_update", {"message": "Found it", "status_change": "identified"},
                                  consumed={"incident": artifact_of(incident)})

    assert outcome.result["status"] == "identified"
    assert transitions_of(change_events(incident)[-1]) == {"status": ("investigating", "identified", context.actor)}


@pytest.mark.parametrize("action_id, config", [
    ("incident.create", {"title": "t", "system_ids": []}),
    ("incident.create", {"title": "t", "system_ids": ["x"], "severity": "huge"}),
    ("incident.create", {"title": "", "system_ids": ["x"]}),
    ("incident.create", {"title": "t", "system_ids": ["x"], "colour": "red"}),
    ("incident.add_update", {"message": ""}),
    ("incident.update_status", {"status": "closed"}),
    ("incident.resolve", {"incident": "x"}),
])
def test_config_schemas_refuse_bad_configs(action_id, config):
    with pytest.raises(ValidationError):
        action(action_id).config_schema.model_validate(config)


def test_registered_definitions():
    create, resolve = action("incident.create"), action("incident.resolve")
    assert (create.produces, create.permissions, create.external) == ("incident", ("incidents.add_incident",), False)
    assert (resolve.consumes, resolve.closes_consumed, resolve.permissions) == (
        ("incident",), True, ("incidents.change_incident",),
    )
    for action_id in ("incident.add_update", "incident.update_status"):
        assert (action(action_id).consumes, action(action_id).closes_consumed) == (("incident",), False)
    assert definitions.artifact_types["incident"].id_field == "incident_id"
    for perm in ("incidents.add_incident", "incidents.change_incident"):  # real ones a run_as user can hold
        app_label, codename = perm.split(".")
        assert Permission.objects.filter(content_type__app_label=app_label, codename=codename).exists()


@pytest.mark.integration  # the PostgreSQL pass only: it races two transactions on the advisory lock
@pytest.mark.django_db(transaction=True)
def test_concurrent_dedupe_creates_make_one_incident():
    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL: run it in the PostgreSQL pass of the test command")
    system_id = str(make_system().pk)
    config = {"title": "API down", "system_ids": [system_id], "dedupe_open_for_system": True}
    started, first_done = threading.Barrier(2, timeout=5), threading.Event()
    outcomes, second_pid, errors = {}, [], []

    def first():
        try:
            started.wait()
            with transaction.atomic():  # the step's transaction: it holds the lock until commit
                outcomes["first"] = run_action("incident.create", config)[0]
                first_done.set()
                wait_until_waiting_on_lock(second_pid[0])  # the second run is waiting on the lock now
        except Exception as exc:  # noqa: BLE001 - reported below: a late second run fails the test
            errors.append(exc)
        finally:
            connection.close()

    def second():
        try:
            second_pid.append(backend_pid())
            started.wait()  # after the pid is known: the first reads it only once both are here
            if not first_done.wait(5):
                raise AssertionError("the first run did not create its incident")
            with transaction.atomic():
                outcomes["second"] = run_action("incident.create", config)[0]
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Incident.objects.count() == 1
    assert outcomes["first"].result["reused"] is False
    assert outcomes["second"].result == {"incident_id": outcomes["first"].result["incident_id"], "reused": True}

