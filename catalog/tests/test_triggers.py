"""The system and health trigger events: payloads the real derivers produce fit their triggers' schemas."""

import pytest

from automation.definitions import trigger
from automation.tests.definitions_support import routed_trigger_events
from catalog.services import health_report, system_delete, system_update

from .factories import change_events, make_system

pytestmark = [pytest.mark.django_db]


def last_routed(entity_id, kind):
    return routed_trigger_events(change_events(entity_id, kind)[-1])


def test_system_events_fit_their_triggers():
    system = make_system("api")
    system_id = str(system.pk)

    created = last_routed(system_id, "system")
    system = system_update(system=system, name="api-v2", actor="system")
    updated = last_routed(system_id, "system")
    system_delete(system=system, actor="system")
    deleted = last_routed(system_id, "system")

    assert created + updated + deleted == [
        {"event": "catalog.system_created", "payload": {"system_id": system_id, "name": "api"}},
        {"event": "catalog.system_updated", "payload": {"system_id": system_id, "name": "api-v2"}},
        {"event": "catalog.system_deleted", "payload": {"system_id": system_id, "name": "api-v2"}},
    ]
    assert trigger("catalog.system_updated").payload_from_state(system_id, {"name": "api-v2"}) == \
        updated[0]["payload"]


def test_health_events_fit_their_triggers():
    system = make_system("api")
    system_id = str(system.pk)

    health_report(system=system, status="degraded", message="slow", latency_ms=900, actor="system")
    first = last_routed(system_id, "health")
    health_report(system=system, status="unhealthy", actor="system")
    worse = last_routed(system_id, "health")
    health_report(system=system, status="healthy", latency_ms=20, actor="system")
    healthy = last_routed(system_id, "health")

    payload = {"system_id": system_id, "previous_status": None, "new_status": "degraded", "message": "slow",
               "latency_ms": 900}
    assert first == [{"event": "healthcheck.system_health_changed", "payload": payload},
                     {"event": "healthcheck.system_degraded", "payload": payload}]
    assert [e["event"] for e in worse] == ["healthcheck.system_health_changed", "healthcheck.system_degraded"]
    assert worse[0]["payload"]["previous_status"] == "degraded"
    assert [e["event"] for e in healthy] == ["healthcheck.system_health_changed", "healthcheck.system_healthy"]
    assert healthy[0]["payload"] == {"system_id": system_id, "previous_status": "unhealthy",
                                     "new_status": "healthy", "message": "", "latency_ms": 20}


@pytest.mark.parametrize("event, status, holds", [
    ("healthcheck.system_degraded", "degraded", True),
    ("healthcheck.system_degraded", "unhealthy", True),
    ("healthcheck.system_degraded", "healthy", False),
    ("healthcheck.system_healthy", "healthy", True),
    ("healthcheck.system_healthy", "degraded", False),
])
def test_health_state_predicates(event, status, holds):
    definition = trigger(event)
    assert definition.holds({"status": status, "message": "", "latency_ms": None}) is holds
    assert definition.holds(None) is False
    assert (definition.entity_kind, definition.context_key_field) == ("health", "system_id")


def test_health_payload_from_state_rebuilds_the_current_status():
    definition = trigger("healthcheck.system_degraded")
    state = {"status": "unhealthy", "message": "down", "latency_ms": None}

    payload = definition.payload_from_state("sys-1", state)

    assert payload == {"system_id": "sys-1", "previous_status": None, "new_status": "unhealthy",
                       "message": "down", "latency_ms": None}
    assert definition.payload_schema.model_validate(payload).model_dump() == payload
    assert trigger("healthcheck.system_health_changed").holds is None
