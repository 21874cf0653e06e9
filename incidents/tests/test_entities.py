"""The incident deriver and state predicate, as pure functions of a change."""

from datetime import UTC, datetime

import pytest

from automation.entities.registry import Change, DerivedEvent, entity_kind, registry
from incidents.entities import derive_incident_events, incident_holds
from incidents.models import Incident

ID = "0b9f6c1e-2f0a-4d55-9a7e-3c1b2a4d5e6f"


def change(prev, next_, changed_fields=None) -> Change:
    if changed_fields is None:
        keys = set(prev or {}) | set(next_ or {})
        changed_fields = sorted(k for k in keys if (prev or {}).get(k) != (next_ or {}).get(k))
    return Change(
        change_id="c1",
        kind="incident",
        entity_id=ID,
        prev=prev,
        next=next_,
        delta={} if next_ is None else {k: next_[k] for k in changed_fields},
        changed_fields=changed_fields,
        actor="system",
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def state(status="investigating", severity="major", system_ids=("a",)):
    return {"status": status, "severity": severity, "system_ids": list(system_ids)}


def payload(status, severity="major", system_ids=("a",), **extra):
    return {"incident_id": ID, "system_ids": list(system_ids), "severity": severity, "status": status, **extra}


def test_create_fires_created_without_status_change():
    events = derive_incident_events(change(None, state(severity="minor", system_ids=("a", "b"))))

    assert events == [
        DerivedEvent("incident.created", payload("investigating", severity="minor", system_ids=("a", "b")), ID)
    ]


def test_status_flip_fires_updated_with_status_change():
    events = derive_incident_events(change(state(), state(status="monitoring")))

    assert events == [DerivedEvent("incident.updated", payload("monitoring", status_change="monitoring"), ID)]


def test_change_without_status_fires_updated_without_status_change():
    events = derive_incident_events(change(state(), state(severity="critical", system_ids=("a", "c"))))

    assert events == [
        DerivedEvent("incident.updated", payload("investigating", severity="critical", system_ids=("a", "c")), ID)
    ]
    assert "status_change" not in events[0].payload


def test_becoming_resolved_fires_resolved_only():
    events = derive_incident_events(change(state(status="monitoring"), state(status="resolved")))

    assert events == [DerivedEvent("incident.resolved", payload("resolved"), ID)]


def test_change_of_a_resolved_incident_is_an_update():
    events = derive_incident_events(change(state(status="resolved"), state(status="resolved", severity="minor")))

    assert events == [DerivedEvent("incident.updated", payload("resolved", severity="minor"), ID)]


def test_reopen_fires_updated_with_status_change():
    events = derive_incident_events(change(state(status="resolved"), state(status="investigating")))

    assert events == [
        DerivedEvent("incident.updated", payload("investigating", status_change="investigating"), ID)
    ]


def test_tombstone_fires_nothing():
    assert derive_incident_events(change(state(), None)) == []


@pytest.mark.parametrize(
    ("state_", "holds"),
    [
        (state("investigating"), True),
        (state("identified"), True),
        (state("fixing"), True),
        (state("monitoring"), True),
        (state("resolved"), False),
        (None, False),
    ],
)
def test_incident_holds_while_not_resolved(state_, holds):
    assert incident_holds(state_) is holds


def test_kind_deriver_and_subscription_are_registered():
    assert entity_kind("incident").model is Incident
    assert derive_incident_events in registry.derivers["incident"]
    subscription = registry.subscriptions["incidents.drop_deleted_system"]
    assert (subscription.kind, subscription.delivery) == ("system", "work_queue")
