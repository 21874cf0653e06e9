"""The maintenance trigger events: payloads the real derivers produce fit their triggers' schemas."""

import pytest

from automation.definitions import trigger
from automation.tests.definitions_support import routed_trigger_events
from maintenance.services import maintenance_advance_schedule

from .factories import T0, T0_ISO, T2H_ISO, events, make_system, make_window

pytestmark = [pytest.mark.django_db]


def test_maintenance_events_fit_their_triggers():
    api = make_system()
    window = make_window(systems=[api])
    window_id = str(window.pk)

    created = routed_trigger_events(events(window_id)[-1])
    maintenance_advance_schedule(now=T0)
    started = routed_trigger_events(events(window_id)[-1])

    base = {"maintenance_id": window_id, "system_ids": [str(api.pk)], "start_at": T0_ISO, "end_at": T2H_ISO}
    assert created + started == [
        {"event": "maintenance.created", "payload": {**base, "status": "scheduled"}},
        {"event": "maintenance.updated", "payload": {**base, "status": "in_progress"}},
    ]
    definition = trigger("maintenance.updated")
    assert definition.payload_from_state(window_id, events(window_id)[-1].next) == started[0]["payload"]
    assert (definition.entity_kind, definition.context_key_field, definition.holds) == (
        "maintenance", "maintenance_id", None,
    )
