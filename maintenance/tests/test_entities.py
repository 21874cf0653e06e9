"""The maintenance deriver and the schedule rule: pure functions, no database."""

from datetime import timedelta

from automation.entities.registry import Change
from maintenance.entities import derive_maintenance_events
from maintenance.services import next_scheduled_status

from .factories import T0

WINDOW_ID = "7f1c1e0e-0000-4000-8000-000000000001"
STATE = {
    "status": "scheduled",
    "system_ids": ["1b000000-0000-4000-8000-000000000001", "2b000000-0000-4000-8000-000000000002"],
    "start_at": "2026-12-01T09:00:00Z",
    "end_at": "2026-12-01T11:00:00Z",
}


def change(prev, next_):
    changed = sorted(set(prev or {}) | set(next_ or {}))
    return Change(
        change_id="c1",
        kind="maintenance",
        entity_id=WINDOW_ID,
        prev=prev,
        next=next_,
        delta={} if next_ is None else {k: next_[k] for k in changed},
        changed_fields=changed,
        actor="user:ops",
        occurred_at=T0,
    )


def test_create_derives_maintenance_created_with_the_full_payload():
    [event] = derive_maintenance_events(change(None, STATE))

    assert event.event == "maintenance.created"
    assert event.context_key == WINDOW_ID
    assert event.payload == {
        "maintenance_id": WINDOW_ID,
        "status": "scheduled",
        "system_ids": ["1b000000-0000-4000-8000-000000000001", "2b000000-0000-4000-8000-000000000002"],
        "start_at": "2026-12-01T09:00:00Z",
        "end_at": "2026-12-01T11:00:00Z",
    }


def test_any_other_change_derives_maintenance_updated_with_the_new_state():
    started = {**STATE, "status": "in_progress", "system_ids": []}

    [event] = derive_maintenance_events(change(STATE, started))

    assert event.event == "maintenance.updated"
    assert event.context_key == WINDOW_ID
    assert event.payload == {
        "maintenance_id": WINDOW_ID,
        "status": "in_progress",
        "system_ids": [],
        "start_at": "2026-12-01T09:00:00Z",
        "end_at": "2026-12-01T11:00:00Z",
    }


def test_a_tombstone_derives_nothing():
    assert derive_maintenance_events(change(STATE, None)) == []


def test_schedule_rule():
    end = T0 + timedelta(hours=2)
    rule = lambda status, now: next_scheduled_status(status=status, start_at=T0, end_at=end, now=now)  # noqa: E731

    assert rule("scheduled", T0 - timedelta(seconds=1)) is None
    assert rule("scheduled", T0) == "in_progress"
    assert rule("in_progress", end - timedelta(seconds=1)) is None
    assert rule("in_progress", end) == "completed"
    # Both times passed while nothing ran: straight to completed, never "in progress".
    assert rule("scheduled", end + timedelta(hours=1)) == "completed"
    assert rule("completed", end + timedelta(hours=1)) is None
    assert rule("cancelled", T0) is None
