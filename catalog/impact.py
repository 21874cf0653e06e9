"""Keeping each system's `impact` entity up to date, in the transaction of the change that moved it.

Locks (PostgreSQL; SQLite's write lock serialises every writer anyway). A dependent's impact reads the
health of everything it depends on, so two transactions that each change one dependency could both
compute it from the other's old health. Two transaction-level advisory locks prevent that:
- the GRAPH lock: shared by every health change, exclusive for a change of the graph itself (an edge
  added, changed or removed; a system deleted), so the edges a health change reads cannot change under it
  and a graph change sees no health change in flight;
- the IMPACT lock: exclusive, taken by a health change of a system that has edges before it recomputes;
  the next one waits for the commit and then reads every health committed before it, its own included.
Order everywhere: GRAPH, then the system row, then IMPACT, then impact rows.
"""

import hashlib

from django.db import connection
from django.db.models import Q

from automation.entities.mutation import entity_mutate

from .impact_graph import Impact, compute_impacts, dependents_closure
from .models import Dependency, SystemHealth, SystemImpact


def _advisory_key(name: str) -> int:
    digest = hashlib.blake2b(f"catalog.{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


GRAPH_LOCK = _advisory_key("dependency-graph")
IMPACT_LOCK = _advisory_key("impact")


def _advisory_lock(key: int, *, shared: bool = False) -> None:
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s)", [key])


def lock_graph_shared() -> None:
    """Take before a health change locks its system: the dependency graph stays as read until commit."""
    _advisory_lock(GRAPH_LOCK, shared=True)


def lock_graph() -> None:
    """Take before changing the dependency graph (before any system row): no health change is in flight."""
    _advisory_lock(GRAPH_LOCK)


def load_graph() -> tuple[dict[str, list[tuple[str, str]]], dict[str, list[str]]]:
    """(system id → [(depends_on id, impact)], system id → [dependent ids]) of every edge."""
    dependencies: dict[str, list[tuple[str, str]]] = {}
    dependents: dict[str, list[str]] = {}
    for system_id, depends_on_id, impact in Dependency.objects.values_list("system_id", "depends_on_id", "impact"):
        system_id, depends_on_id = str(system_id), str(depends_on_id)
        dependencies.setdefault(system_id, []).append((depends_on_id, impact))
        dependents.setdefault(depends_on_id, []).append(system_id)
    return dependencies, dependents


def has_edges(system_id) -> bool:
    return Dependency.objects.filter(Q(system_id=system_id) | Q(depends_on_id=system_id)).exists()


def impact_after_health_change(*, system_id, status: str | None, actor: str) -> list[str]:
    """Recompute the impact of the system whose health status just changed and of everything depending on it.

    Call inside the health change's transaction, holding the graph lock (shared) and the system's row.
    A system with no edge (the common case) is its own impact: no graph to read, no lock to queue on.
    """
    system_id = str(system_id)
    if has_edges(system_id):
        _advisory_lock(IMPACT_LOCK)
        return impact_refresh(system_ids=[system_id], actor=actor)
    impact = Impact(status=status)
    stored = SystemImpact.objects.filter(pk=system_id).values_list("status", "impacted_by").first()
    if stored is not None and Impact(status=stored[0], impacted_by=tuple(stored[1])) == impact:
        return []
    _write_impact(system_id, impact, actor=actor)
    return [system_id]


def impact_refresh(*, system_ids, actor: str, graph=None) -> list[str]:
    """Write the impact of `system_ids` and their transitive dependents where it changed; their ids, sorted.

    `graph`: load_graph()'s answer when the caller has it.
    """
    dependencies, dependents = graph or load_graph()
    affected = sorted(dependents_closure({str(pk) for pk in system_ids}, dependents))
    own = {str(pk): status for pk, status in SystemHealth.objects.values_list("system_id", "status")}
    computed = compute_impacts(affected, own=own, edges=dependencies)
    stored = {str(pk): Impact(status=status, impacted_by=tuple(by)) for pk, status, by in
              SystemImpact.objects.filter(pk__in=affected).values_list("system_id", "status", "impacted_by")}
    changed = [pk for pk in affected if computed[pk] != stored.get(pk, Impact(status=None))]
    for pk in changed:  # in id order: two writers lock impact rows in the same order
        _write_impact(pk, computed[pk], actor=actor)
    return changed


def _write_impact(system_id: str, impact: Impact, *, actor: str) -> None:
    def write(current: SystemImpact | None):
        if impact.status is None:
            if current is not None:
                current.delete()
            return None
        row = current or SystemImpact(system_id=system_id)
        row.status = impact.status
        row.impacted_by = list(impact.impacted_by)
        row.save(force_insert=current is None)
        return row

    entity_mutate(kind="impact", entity_id=system_id, write=write, actor=actor)
