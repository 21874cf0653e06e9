"""Routing incident changes to trigger events, and incidents dropping a deleted system exactly once."""

import pytest

from automation.entities.delivery import as_change, deliver_change, route_change_event
from automation.models import ChangeEvent, DerivedTriggerEvent, SubscriptionDelivery
from catalog.services import system_delete
from incidents.entities import drop_deleted_system
from incidents.models import IncidentSystem
from incidents.selectors import incident_system_ids
from incidents.services import incident_add_update, incident_delete, incident_resolve, incident_update

from .factories import change_events, make_incident, make_system, transitions_of

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def routed_events(event: ChangeEvent) -> list[tuple]:
    route_change_event(str(event.change_id))
    return list(
        DerivedTriggerEvent.objects.filter(change=event).order_by("id").values_list("event", "payload", "context_key")
    )


def test_create_routes_to_incident_created():
    system = make_system()
    incident = make_incident(systems=[system], severity="minor")

    assert routed_events(change_events(incident)[0]) == [
        (
            "incident.created",
            {
                "incident_id": str(incident.pk),
                "system_ids": [str(system.pk)],
                "severity": "minor",
                "status": "investigating",
            },
            str(incident.pk),
        )
    ]


def test_status_update_routes_to_updated_with_status_change():
    incident = make_incident()
    incident_add_update(incident=incident, message="on it", status_change="fixing", actor="system")

    assert routed_events(change_events(incident)[-1]) == [
        (
            "incident.updated",
            {
                "incident_id": str(incident.pk),
                "system_ids": [],
                "severity": "major",
                "status": "fixing",
                "status_change": "fixing",
            },
            str(incident.pk),
        )
    ]


def test_severity_change_routes_to_updated_without_status_change():
    incident = make_incident()
    incident_update(incident=incident, severity="critical", actor="system")

    [(name, payload, _key)] = routed_events(change_events(incident)[-1])
    assert name == "incident.updated"
    assert payload == {
        "incident_id": str(incident.pk),
        "system_ids": [],
        "severity": "critical",
        "status": "investigating",
    }


def test_resolve_then_reopen_routes_resolved_then_updated():
    incident = make_incident()
    incident_resolve(incident=incident, actor="system")
    incident_add_update(incident=incident, message="back", status_change="investigating", actor="system")
    resolved, reopened = change_events(incident)[1:]

    assert routed_events(resolved) == [
        (
            "incident.resolved",
            {"incident_id": str(incident.pk), "system_ids": [], "severity": "major", "status": "resolved"},
            str(incident.pk),
        )
    ]
    assert [(name, payload.get("status_change")) for name, payload, _ in routed_events(reopened)] == [
        ("incident.updated", "investigating")
    ]


def test_comment_only_update_has_nothing_to_route():
    incident = make_incident()
    incident_add_update(incident=incident, message="no news", actor="system")

    assert len(change_events(incident)) == 1


def test_tombstone_routes_to_no_trigger_event():
    incident = make_incident()
    incident_delete(incident=incident, actor="system")
    tombstone = change_events(incident)[-1]

    assert routed_events(tombstone) == []
    tombstone.refresh_from_db()
    assert tombstone.routed_at is not None


def test_deleted_system_is_dropped_from_incidents_once():
    gone, kept = make_system("gone"), make_system("kept")
    both = make_incident(title="both", systems=[gone, kept])
    only_gone = make_incident(title="only gone", systems=[gone])
    unrelated = make_incident(title="unrelated", systems=[kept])
    gone_id = str(gone.pk)  # delete() clears the instance's pk

    system_delete(system=gone, actor="user:ops")
    # No cascade: the links stay until the subscriber removes them through the service.
    assert IncidentSystem.objects.filter(system_id=gone_id).count() == 2
    tombstone = ChangeEvent.objects.filter(kind="system", entity_id=gone_id, next__isnull=True).get()
    route_change_event(str(tombstone.change_id))
    delivery = SubscriptionDelivery.objects.get(subscriber="incidents.drop_deleted_system", change=tombstone)

    assert deliver_change(delivery.id) is True

    both.refresh_from_db()
    assert incident_system_ids(both) == [str(kept.pk)]
    assert transitions_of(change_events(both)[-1]) == {
        "system_ids": (sorted([gone_id, str(kept.pk)]), [str(kept.pk)], "system")
    }
    assert transitions_of(change_events(only_gone)[-1]) == {"system_ids": ([gone_id], [], "system")}
    assert len(change_events(unrelated)) == 1
    assert not IncidentSystem.objects.filter(system_id=gone_id).exists()

    # Delivering again, or the handler running twice, changes nothing.
    count = ChangeEvent.objects.filter(kind="incident").count()
    assert deliver_change(delivery.id) is False
    drop_deleted_system(as_change(tombstone))
    assert ChangeEvent.objects.filter(kind="incident").count() == count


def test_system_changes_other_than_deletion_leave_incidents_alone():
    system = make_system()
    incident = make_incident(systems=[system])
    created = ChangeEvent.objects.get(kind="system", entity_id=str(system.pk))

    drop_deleted_system(as_change(created))

    assert incident_system_ids(incident) == [str(system.pk)]
    assert len(change_events(incident)) == 1
