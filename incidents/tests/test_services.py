"""Incident services: the exact transitions and change events each write records, and what they refuse."""

import pytest
from django.core.exceptions import ValidationError

from automation.entities.actor import acting_as
from automation.entities.tracked import UntrackedWriteError
from automation.models import ChangeEvent, Transition
from incidents.models import Incident, IncidentSystem, IncidentUpdate
from incidents.services import (
    incident_add_update,
    incident_create,
    incident_delete,
    incident_remove_system,
    incident_resolve,
    incident_update,
)

from .factories import ACTOR, change_events, make_incident, make_system, transitions_of

pytestmark = pytest.mark.django_db


def test_create_records_every_field_and_the_initial_update():
    b, a = make_system("b"), make_system("a")

    incident = make_incident(systems=[b, a], severity="critical", initial_message="Looking into it")

    [event] = change_events(incident)
    ids = sorted([str(a.pk), str(b.pk)])
    assert event.prev is None
    assert event.next == {"status": "investigating", "severity": "critical", "system_ids": ids}
    assert event.changed_fields == ["severity", "status", "system_ids"]
    assert event.actor == ACTOR
    assert transitions_of(event) == {
        "status": (None, "investigating", ACTOR),
        "severity": (None, "critical", ACTOR),
        "system_ids": (None, ids, ACTOR),
    }
    assert list(incident.updates.values_list("message", "status_change", "created_by")) == [
        ("Looking into it", "investigating", ACTOR)
    ]
    assert incident.resolved_at is None


def test_create_without_message_posts_no_update_and_defaults_severity():
    incident = make_incident()

    assert incident.updates.count() == 0
    assert change_events(incident)[0].next == {"status": "investigating", "severity": "major", "system_ids": []}


@pytest.mark.parametrize("bad_id", ["8d6a4c1e-0000-4000-8000-000000000000", "not-a-uuid"])
def test_create_with_unknown_system_writes_nothing(bad_id):
    known = make_system()

    with pytest.raises(ValidationError) as caught:
        incident_create(title="x", system_ids=[known.pk, bad_id], actor=ACTOR)

    assert "system_ids" in caught.value.message_dict
    assert bad_id in caught.value.message_dict["system_ids"][0]
    assert Incident.objects.count() == 0
    assert not ChangeEvent.objects.filter(kind="incident").exists()


def test_create_with_bad_severity_or_blank_title_writes_nothing():
    with pytest.raises(ValidationError):
        incident_create(title="x", severity="apocalyptic", actor=ACTOR)
    with pytest.raises(ValidationError):
        incident_create(title="", actor=ACTOR)

    assert Incident.objects.count() == 0


def test_update_records_only_changed_fields():
    a, b = make_system("a"), make_system("b")
    incident = make_incident(systems=[a])

    updated = incident_update(
        incident=incident, actor="user:bob", severity="minor", system_ids=[b.pk, a.pk], title="New"
    )

    event = change_events(incident)[-1]
    ids = sorted([str(a.pk), str(b.pk)])
    assert event.changed_fields == ["severity", "system_ids"]
    assert event.delta == {"severity": "minor", "system_ids": ids}
    assert transitions_of(event) == {
        "severity": ("major", "minor", "user:bob"),
        "system_ids": ([str(a.pk)], ids, "user:bob"),
    }
    assert (updated.title, updated.severity) == ("New", "minor")
    assert Incident.objects.get().title == "New"


def test_update_that_changes_nothing_writes_nothing():
    incident = make_incident(severity="minor")
    before = Incident.objects.get().updated_at

    incident_update(incident=incident, actor=ACTOR, severity="minor", title=incident.title)

    assert len(change_events(incident)) == 1
    assert Incident.objects.get().updated_at == before


def test_untracked_change_saves_without_a_change_event():
    incident = make_incident()

    incident_update(incident=incident, actor=ACTOR, title="Renamed", suppress_notifications=True)

    assert len(change_events(incident)) == 1
    assert Incident.objects.filter(title="Renamed", suppress_notifications=True).exists()


def test_update_status_keeps_resolved_at_in_step():
    incident = make_incident()

    resolved = incident_update(incident=incident, actor=ACTOR, status="resolved")
    assert resolved.resolved_at is not None
    reopened = incident_update(incident=incident, actor=ACTOR, status="fixing")

    assert reopened.resolved_at is None
    assert [e.delta for e in change_events(incident)[1:]] == [{"status": "resolved"}, {"status": "fixing"}]


def test_update_refuses_unknown_fields_and_unknown_systems():
    incident = make_incident()

    with pytest.raises(TypeError):
        incident_update(incident=incident, actor=ACTOR, resolved_at=None)
    with pytest.raises(ValidationError):
        incident_update(incident=incident, actor=ACTOR, system_ids=["8d6a4c1e-0000-4000-8000-000000000000"])

    assert len(change_events(incident)) == 1


def test_update_with_status_change_flips_status():
    incident = make_incident()

    update = incident_add_update(incident=incident, message="Found it", status_change="identified", actor="user:bob")

    event = change_events(incident)[-1]
    assert event.changed_fields == ["status"]
    assert transitions_of(event) == {"status": ("investigating", "identified", "user:bob")}
    assert (update.message, update.status_change, update.created_by) == ("Found it", "identified", "user:bob")
    assert Incident.objects.get().status == "identified"


def test_comment_only_update_emits_no_change_event():
    incident = make_incident()

    update = incident_add_update(incident=incident, message="Still digging", actor=ACTOR)

    assert len(change_events(incident)) == 1
    assert update.status_change is None
    assert IncidentUpdate.objects.filter(incident=incident).count() == 1


def test_update_resolving_sets_resolved_at():
    incident = make_incident()

    incident_add_update(incident=incident, message="Fixed", status_change="resolved", actor=ACTOR)

    assert Incident.objects.get().resolved_at is not None


def test_update_needs_a_message_and_a_valid_status():
    incident = make_incident()

    with pytest.raises(ValidationError):
        incident_add_update(incident=incident, message="  ", actor=ACTOR)
    with pytest.raises(ValidationError):
        incident_add_update(incident=incident, message="x", status_change="gone", actor=ACTOR)

    assert IncidentUpdate.objects.count() == 0


def test_resolve_posts_default_update_and_is_idempotent():
    incident = make_incident()

    resolved = incident_resolve(incident=incident, actor="user:bob")
    again = incident_resolve(incident=incident, message="twice", actor="user:bob")

    events = change_events(incident)
    assert len(events) == 2
    assert transitions_of(events[1]) == {"status": ("investigating", "resolved", "user:bob")}
    assert resolved.resolved_at is not None and again.resolved_at == resolved.resolved_at
    assert list(incident.updates.values_list("message", "status_change")) == [("Incident resolved", "resolved")]


def test_resolve_with_message_uses_it():
    incident = make_incident()

    incident_resolve(incident=incident, message="Root cause fixed", actor=ACTOR)

    assert list(incident.updates.values_list("message", flat=True)) == ["Root cause fixed"]


def test_delete_writes_a_tombstone_and_removes_links_and_updates():
    system = make_system()
    incident = make_incident(systems=[system], initial_message="hi")

    incident_delete(incident=incident, actor="user:bob")

    tombstone = change_events(incident)[-1]
    assert (tombstone.next, tombstone.delta) == (None, {})
    assert transitions_of(tombstone) == {
        "status": ("investigating", None, "user:bob"),
        "severity": ("major", None, "user:bob"),
        "system_ids": ([str(system.pk)], None, "user:bob"),
    }
    assert not Incident.objects.exists()
    assert not IncidentSystem.objects.exists() and not IncidentUpdate.objects.exists()


def test_remove_system_is_idempotent():
    a, b = make_system("a"), make_system("b")
    incident = make_incident(systems=[a, b])

    incident_remove_system(incident=incident, system_id=a.pk, actor="system")
    incident_remove_system(incident=incident, system_id=a.pk, actor="system")

    events = change_events(incident)
    assert len(events) == 2
    assert transitions_of(events[1]) == {"system_ids": (sorted([str(a.pk), str(b.pk)]), [str(b.pk)], "system")}


def test_bulk_writes_are_refused():
    incident = make_incident()

    with pytest.raises(UntrackedWriteError):
        Incident.objects.update(status="resolved")
    with pytest.raises(UntrackedWriteError):
        Incident.objects.filter(pk=incident.pk).delete()
    with pytest.raises(UntrackedWriteError):
        Incident.objects.bulk_create([Incident(title="sneaky")])

    assert Incident.objects.get().status == "investigating"
    assert len(change_events(incident)) == 1


def test_a_bare_save_is_tracked_and_attributed():
    incident = make_incident()
    incident.severity = "critical"

    with acting_as("user:shell"):
        incident.save()

    event = change_events(incident)[-1]
    assert transitions_of(event) == {"severity": ("major", "critical", "user:shell")}
    assert Transition.objects.filter(kind="incident", entity_id=str(incident.pk)).count() == 4
