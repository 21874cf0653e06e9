"""Setup helpers for maintenance tests: systems and windows made through the services."""

from datetime import UTC, datetime, timedelta

from automation.models import ChangeEvent, Transition
from catalog.services import system_create
from maintenance.services import maintenance_create

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
T0_ISO = "2026-12-01T09:00:00Z"
T2H_ISO = "2026-12-01T11:00:00Z"


def make_system(name: str = "api"):
    return system_create(name=name, actor="system")


def make_window(*, systems=(), start_at=T0, end_at=None, actor="user:ops", **fields):
    return maintenance_create(
        title=fields.pop("title", "Database upgrade"),
        start_at=start_at,
        end_at=end_at or start_at + timedelta(hours=2),
        system_ids=[s.pk for s in systems],
        actor=actor,
        **fields,
    )


def transitions(entity_id, kind="maintenance"):
    """(field, from, to, actor) of an entity's transitions, oldest first."""
    return list(
        Transition.objects.filter(kind=kind, entity_id=str(entity_id))
        .order_by("id")
        .values_list("field", "from_value", "to_value", "actor")
    )


def events(entity_id, kind="maintenance"):
    return list(ChangeEvent.objects.filter(kind=kind, entity_id=str(entity_id)).order_by("id"))


def log_counts():
    """How many transitions and change events exist: a failed write must leave both unchanged."""
    return Transition.objects.count(), ChangeEvent.objects.count()
