"""Writes of dependency edges: refused when they would close a cycle, and followed by the impact they move.

An edge is not reactive state itself (no entity kind); what it changes is the `impact` of the system and of
everything depending on it, written in the same transaction. Every write here takes the exclusive graph
lock first (catalog.impact): two concurrent inserts that would together close a cycle are checked one after
the other, the second against the first's committed edge.
"""

import uuid

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from .impact import graph_changed, impact_refresh, lock_graph
from .impact_graph import would_close_cycle
from .models import Dependency, DependencyImpact, System

DUPLICATE = "This system already depends on that system."
SELF = "A system cannot depend on itself."


def _system(field: str, system_id) -> System:
    try:
        return System.objects.get(pk=uuid.UUID(str(system_id)))
    except (ValueError, System.DoesNotExist):
        raise ValidationError({field: [f"Unknown system id: {system_id}."]}) from None


def _check_impact(impact: str) -> None:
    if impact not in DependencyImpact.values:
        raise ValidationError({"impact": [f"Choose one of: {', '.join(DependencyImpact.values)}."]})


def dependency_check(system: System, depends_on: System, *, impact: str, replacing=None) -> None:
    """Raise the ValidationError this edge would be (self, duplicate, cycle); `replacing`: the edge it replaces."""
    _check_impact(impact)
    if system.pk == depends_on.pk:
        raise ValidationError({"depends_on_id": [SELF]})
    if Dependency.objects.filter(system=system, depends_on=depends_on).exclude(pk=replacing).exists():
        raise ValidationError({"depends_on_id": [DUPLICATE]})
    edges = Dependency.objects.exclude(pk=replacing).values_list("system_id", "depends_on_id")
    children: dict[str, list[str]] = {}
    for parent, child in edges:
        children.setdefault(str(parent), []).append(str(child))
    if would_close_cycle(str(system.pk), str(depends_on.pk), children):
        raise ValidationError({"depends_on_id": [
            f"{depends_on.name} already depends on {system.name} (directly or through other systems): "
            "this dependency would close a cycle."]})


def _save(dependency: Dependency, **kwargs) -> None:
    try:
        with transaction.atomic():
            dependency.save(**kwargs)
    except IntegrityError as exc:  # unreachable under the graph lock; the constraints are the last word
        raise ValidationError({"depends_on_id": [DUPLICATE]}) from exc


@transaction.atomic
def dependency_create(*, system_id, depends_on_id, impact: str = DependencyImpact.FULL, actor: str) -> Dependency:
    """Add the edge system → depends_on; a self-dependency, a duplicate pair or a cycle is a ValidationError."""
    lock_graph()
    system, depends_on = _system("system_id", system_id), _system("depends_on_id", depends_on_id)
    dependency_check(system, depends_on, impact=impact)
    dependency = Dependency(system=system, depends_on=depends_on, impact=impact)
    _save(dependency, force_insert=True)
    graph_changed()
    # depends_on too: a system's first edge gives it an impact entity.
    impact_refresh(system_ids=[system.pk, depends_on.pk], actor=actor)
    return dependency


@transaction.atomic
def dependency_update(*, dependency: Dependency, actor: str, **fields) -> Dependency:
    """Change the edge's system_id, depends_on_id and/or impact, checked as a new edge would be."""
    if unknown := set(fields) - {"system_id", "depends_on_id", "impact"}:
        raise TypeError(f"dependency_update() got unknown fields: {', '.join(sorted(unknown))}")
    lock_graph()
    current = Dependency.objects.filter(pk=dependency.pk).first()
    if current is None:
        raise Dependency.DoesNotExist(f"dependency {dependency.pk} no longer exists")
    before = (current.system_id, current.depends_on_id)
    system = _system("system_id", fields.get("system_id", current.system_id))
    depends_on = _system("depends_on_id", fields.get("depends_on_id", current.depends_on_id))
    impact = fields.get("impact", current.impact)
    dependency_check(system, depends_on, impact=impact, replacing=current.pk)
    current.system, current.depends_on, current.impact = system, depends_on, impact
    _save(current)
    graph_changed()
    impact_refresh(system_ids=[*before, system.pk, depends_on.pk], actor=actor)
    return current


@transaction.atomic
def dependency_delete(*, dependency: Dependency, actor: str) -> None:
    """Remove the edge; the system and its dependents are recomputed without it."""
    lock_graph()
    deleted, _ = Dependency.objects.filter(pk=dependency.pk).delete()
    if deleted:
        graph_changed()
        # depends_on too: a system left without any edge loses its impact entity.
        impact_refresh(system_ids=[dependency.system_id, dependency.depends_on_id], actor=actor)
