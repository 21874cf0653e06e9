"""The incident trigger events: payloads the real derivers produce fit their triggers' schemas."""

import pytest

from automation.definitions import trigger
from automation.tests.definitions_support import routed_trigger_events
from incidents.services import incident_add_update, incident_resolve, incident_update

from .factories import change_events, make_incident, make_system

pytestmark = [pytest.mark.django_db]


def test_incident_events_fit_their_triggers():
    api = make_system()
    incident = make_incident(systems=[api], severity="minor")
    incident_id, system_ids = str(incident.pk), [str(api.pk)]

    created = routed_trigger_events(change_events(incident)[-1])
    incident_update(incident=incident, severity="critical", actor="system")
    severity = routed_trigger_events(change_events(incident)[-1])
    incident_add_update(incident=incident, message="fixing", status_change="fixing", actor="system")
    status = routed_trigger_events(change_events(incident)[-1])
    incident_resolve(incident=incident, actor="system")
    resolved = routed_trigger_events(change_events(incident)[-1])

    base = {"incident_id": incident_id, "system_ids": system_ids}
    assert created + severity + status + resolved == [
        {"event": "incident.created", "payload": {**base, "severity": "minor", "status": "investigating"}},
        {"event": "incident.updated", "payload": {**base, "severity": "critical", "status": "investigating"}},
        {"event": "incident.updated",
         "payload": {**base, "severity": "critical", "status": "fixing", "status_change": "fixing"}},
        {"event": "incident.resolved", "payload": {**base, "severity": "critical", "status": "resolved"}},
    ]
    state = change_events(incident)[-1].next
    assert trigger("incident.resolved").payload_from_state(incident_id, state) == resolved[0]["payload"]


@pytest.mark.parametrize("event", ["incident.created", "incident.updated"])
def test_open_incident_events_hold_until_resolved(event):
    definition = trigger(event)
    state = {"status": "fixing", "severity": "major", "system_ids": []}
    assert definition.holds(state) is True
    assert definition.holds({**state, "status": "resolved"}) is False
    assert (definition.entity_kind, definition.context_key_field) == ("incident", "incident_id")
    assert trigger("incident.resolved").holds is None
