"""Writes of systems and their health, each through the entity-mutation service.

Lock order, everywhere: the system row, then its health row. A first health report has no health row to
lock, so it locks the system to serialise with another first report and with the system's deletion.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from automation.entities.mutation import entity_mutate
from foundation.service_errors import ServiceConflict

from .groups import lock_group
from .impact import (
    graph_changed,
    impact_after_health_change,
    impact_refresh,
    load_graph,
    lock_graph,
    lock_graph_shared,
)
from .models import MAX_LATENCY_MS, HealthSource, System, SystemHealth, SystemImpact

SYSTEM_FIELDS = frozenset({"name", "description", "metadata", "group_id"})
# How the system's health is set (not reactive state: changing them writes no change event).
HEALTH_POLICY_FIELDS = frozenset({"health_source", "health_failure_threshold", "health_degraded_latency_ms",
                                  "health_quorum"})
MAX_QUORUM = 100
MAX_FAILURE_THRESHOLD = 100
NAME_TAKEN = "A system with this name already exists."


def _save(system: System, **kwargs) -> None:
    """Save; the unique name is the only constraint a checked write can break (a concurrent request took it)."""
    try:
        system.save(**kwargs)
    except IntegrityError as exc:  # the mutation's transaction rolls back whole as this propagates
        raise ValidationError({"name": [NAME_TAKEN]}) from exc


class HealthSourceConflict(ServiceConflict):
    """The system's health is set by another source (e.g. a client reports while checks manage it)."""

    def __init__(self, *, source: str, reporter: str):
        self.source = source
        super().__init__(
            f"This system's health source is '{source}': health from '{reporter}' is refused. "
            f"Change the system's health source first."
        )

    def fields(self) -> dict:
        return {"health_source": self.source}


def _lock_system(system: System, *, no_key: bool = False) -> str:
    """Lock the system's row and return its health source; System.DoesNotExist if it was deleted meanwhile.

    `no_key` (a health change): FOR NO KEY UPDATE still serialises with another report and with deletion,
    but lets another transaction insert rows that reference the system (a dependent's impact row).
    """
    sources = (System.objects.select_for_update(no_key=no_key).filter(pk=system.pk)
               .values_list("health_source", flat=True))
    if not sources:
        raise System.DoesNotExist(f"system {system.pk} does not exist")
    return sources[0]


def _deleting(instance):
    """A mutation `write` that deletes `instance` (None tells the service the entity is gone)."""

    def write(_current):
        instance.delete()
        return None

    return write


@transaction.atomic
def system_create(*, name: str, description: str = "", metadata: dict | None = None, group_id=None,
                  actor: str, **policy) -> System:
    """Create a system (in the group `group_id`, if given); `policy` may set the health policy fields."""
    unknown = set(policy) - HEALTH_POLICY_FIELDS
    if unknown:
        raise TypeError(f"system_create() got unknown fields: {', '.join(sorted(unknown))}")
    if errors := health_policy_errors(policy):
        raise ValidationError(errors)
    group = lock_group(group_id)
    system = System(name=name, description=description, metadata=metadata or {}, group=group, **policy)

    def write(_current):
        _save(system, force_insert=True)
        return system

    entity_mutate(kind="system", entity_id=system.pk, write=write, actor=actor)
    return system


def health_policy_errors(fields: dict) -> dict[str, list[str]]:
    """`{field: [messages]}` for the health policy fields among `fields` (the API, admin and service rule)."""
    errors = {}
    if "health_source" in fields and fields["health_source"] not in HealthSource.values:
        errors["health_source"] = [f"Choose one of: {', '.join(HealthSource.values)}."]
    threshold = fields.get("health_failure_threshold", 1)
    if isinstance(threshold, bool) or not isinstance(threshold, int) or not 1 <= threshold <= MAX_FAILURE_THRESHOLD:
        errors["health_failure_threshold"] = [f"A whole number from 1 to {MAX_FAILURE_THRESHOLD}."]
    latency = fields.get("health_degraded_latency_ms")
    if latency is not None and (isinstance(latency, bool) or not isinstance(latency, int)
                                or not 1 <= latency <= MAX_LATENCY_MS):
        errors["health_degraded_latency_ms"] = [f"Empty, or a whole number from 1 to {MAX_LATENCY_MS}."]
    quorum = fields.get("health_quorum")
    if quorum is not None and (isinstance(quorum, bool) or not isinstance(quorum, int)
                               or not 1 <= quorum <= MAX_QUORUM):
        errors["health_quorum"] = [f"Empty, or a whole number from 1 to {MAX_QUORUM}."]
    return errors


@transaction.atomic
def system_update(*, system: System, actor: str, **fields) -> System:
    """Set the given fields (name, description, metadata, group_id, health policy) on the locked row;
    `system` follows."""
    unknown = set(fields) - SYSTEM_FIELDS - HEALTH_POLICY_FIELDS
    if unknown:
        raise TypeError(f"system_update() got unknown fields: {', '.join(sorted(unknown))}")
    if errors := health_policy_errors(fields):
        raise ValidationError(errors)
    if "group_id" in fields:
        group = lock_group(fields["group_id"])
        fields["group_id"] = None if group is None else group.pk

    def write(current: System | None):
        if current is None:
            raise System.DoesNotExist(f"system {system.pk} no longer exists")
        # Write onto the locked row, not the caller's copy, so a concurrent edit of another field survives.
        for name, value in fields.items():
            setattr(current, name, value)
        _save(current, update_fields=[*fields, "updated_at"])
        return current

    updated, _event = entity_mutate(kind="system", entity_id=system.pk, write=write, actor=actor)
    for name in (*SYSTEM_FIELDS, *HEALTH_POLICY_FIELDS, "updated_at"):
        setattr(system, name, getattr(updated, name))
    return system


@transaction.atomic
def system_delete(*, system: System, actor: str) -> None:
    """Delete a system, its health, impact and edges; incidents and windows drop it when they see the
    tombstone, and what depended on it is recomputed without it."""
    lock_graph()
    _lock_system(system)
    dependencies, dependents = load_graph()
    former_dependents = dependents.get(str(system.pk), [])
    former_dependencies = [pk for pk, _impact in dependencies.get(str(system.pk), [])]
    had_edges = bool(former_dependents or former_dependencies)
    health = SystemHealth.objects.filter(pk=system.pk).first()
    if health is not None:
        entity_mutate(kind="health", entity_id=system.pk, write=_deleting(health), actor=actor, deleting=True)
    impact = SystemImpact.objects.filter(pk=system.pk).first()
    if impact is not None:
        entity_mutate(kind="impact", entity_id=system.pk, write=_deleting(impact), actor=actor, deleting=True)
    entity_mutate(kind="system", entity_id=system.pk, write=_deleting(system), actor=actor, deleting=True)
    if had_edges:  # the cascade removed them
        graph_changed()
    if had_edges:  # what depended on it, and what it depended on (which may be left without edges)
        impact_refresh(system_ids=[*former_dependents, *former_dependencies], actor=actor)


@transaction.atomic
def health_report(
    *, system: System, status: str, message: str = "", latency_ms: int | None = None, actor: str,
    source: str = HealthSource.REPORTED,
) -> SystemHealth:
    """Record a system's current health (creating its health row on the first report).

    `source` says who reports: a report from a source other than the system's `health_source` raises
    HealthSourceConflict and writes nothing (read under the system's lock, so a concurrent switch of source
    is either seen or waits).
    """
    lock_graph_shared()
    if (current_source := _lock_system(system, no_key=True)) != source:
        raise HealthSourceConflict(source=current_source, reporter=source)

    def write(current: SystemHealth | None):
        health = current or SystemHealth(system=system)
        health.status = status
        health.message = message
        health.latency_ms = latency_ms
        health.source = source
        health.save(force_insert=current is None)
        return health

    health, event = entity_mutate(kind="health", entity_id=system.pk, write=write, actor=actor)
    if event is not None and "status" in event.changed_fields:
        impact_after_health_change(system_id=system.pk, status=status, actor=actor)
    return health
