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

Only systems with at least one dependency edge have an `impact` entity; any other's impact is its own
health, so its health report writes nothing here.
"""

import secrets
from collections import defaultdict

from django.db import connection
from django.db.models import Q, TextField
from django.db.models.functions import Cast

from automation.entities.mutation import entity_mutate
from automation.sql.locks import advisory_lock

from .impact_graph import Impact, compute_impacts, dependents_closure
from .models import Dependency, DependencyGraphVersion, SystemHealth, SystemImpact

GRAPH_LOCK = "catalog.dependency-graph"
IMPACT_LOCK = "catalog.impact"
# How many affected systems impact_plan reads the stored impacts of by id; more, and it reads them all.
FILTER_UP_TO = 50


def lock_graph_shared() -> None:
    """Take before a health change locks its system: the dependency graph stays as read until commit."""
    advisory_lock(GRAPH_LOCK, shared=True)


def lock_graph() -> None:
    """Take before changing the dependency graph (before any system row): no health change is in flight."""
    advisory_lock(GRAPH_LOCK)


def _text(field: str):
    """An id column read as its text (PostgreSQL): building a UUID object per id, then its string, cost more
    than the whole computation on a graph of thousands of edges (bench/impact.py). Elsewhere (SQLite stores
    bare hex) the UUID is read and _norm() makes its string."""
    return Cast(field, TextField()) if connection.vendor == "postgresql" else field


def _norm():
    return (lambda value: value) if connection.vendor == "postgresql" else str


def load_graph() -> tuple[dict[str, list[tuple[str, str]]], dict[str, list[str]]]:
    """(system id → [(depends_on id, impact)], system id → [dependent ids]) of every edge."""
    dependencies: defaultdict[str, list[tuple[str, str]]] = defaultdict(list)
    dependents: defaultdict[str, list[str]] = defaultdict(list)
    edges = Dependency.objects.values_list(_text("system_id"), _text("depends_on_id"), "impact")
    norm = _norm()
    for system_id, depends_on_id, impact in edges:
        system_id, depends_on_id = norm(system_id), norm(depends_on_id)
        dependencies[system_id].append((depends_on_id, impact))
        dependents[depends_on_id].append(system_id)
    return dict(dependencies), dict(dependents)


# (version token, graph) of the last graph this process read; see graph_changed().
_cached_graph: tuple[int, tuple] | None = None


def graph_changed() -> None:
    """Record that the edges changed: call in the transaction of every edge write, under the exclusive lock.

    A new random token rather than a counter: a process may have read a graph inside a transaction that
    then rolled back; a counter would reach that value again with other edges, a random token does not.
    """
    DependencyGraphVersion.objects.update_or_create(pk=1, defaults={"version": secrets.randbits(62)})


def current_graph() -> tuple[dict[str, list[tuple[str, str]]], dict[str, list[str]]]:
    """load_graph()'s answer, reused while the edges' version token is unchanged (one small query then).

    Call holding the graph lock: its token and its edges then stay as read until the transaction ends.
    """
    global _cached_graph
    token = DependencyGraphVersion.objects.filter(pk=1).values_list("version", flat=True).first()
    if token is None:  # never changed through the services: nothing to key a cache by
        return load_graph()
    cached = _cached_graph
    if cached is not None and cached[0] == token:
        return cached[1]
    graph = load_graph()
    _cached_graph = (token, graph)  # one assignment: a thread reads the old pair or the new one, whole
    return graph


def has_edges(system_id) -> bool:
    return Dependency.objects.filter(Q(system_id=system_id) | Q(depends_on_id=system_id)).exists()


def impact_after_health_change(*, system_id, status: str | None, actor: str) -> list[str]:
    """Recompute the impact of the system whose health status just changed and of everything depending on it.

    Call inside the health change's transaction, holding the graph lock (shared) and the system's row.
    A system with no edge (the common case) has no impact entity, its impact being its own health (read so
    by catalog.selectors and expressions): nothing to write, no graph to read, no lock to queue on, and a
    health report stays one change event.
    """
    if not has_edges(system_id):
        return []
    advisory_lock(IMPACT_LOCK)
    return impact_refresh(system_ids=[system_id], actor=actor)


def impact_refresh(*, system_ids, actor: str) -> list[str]:
    """Write the impact of `system_ids` and their transitive dependents where it changed; their ids, sorted."""
    plan = impact_plan(system_ids=system_ids)
    for pk, impact in plan.items():  # in id order: two writers lock impact rows in the same order
        _write_impact(pk, impact, actor=actor)
    return list(plan)


def impact_plan(*, system_ids) -> dict[str, Impact]:
    """The new impact of each system among `system_ids` and their transitive dependents whose impact changed,
    by id (sorted): the graph (cached while unchanged), every health and the stored impacts read in three or
    four queries, then computed in memory. A system left without any edge gets Impact(None): its row goes."""
    dependencies, dependents = current_graph()
    affected = sorted(dependents_closure({str(pk) for pk in system_ids}, dependents))
    norm = _norm()
    own = {norm(pk): status for pk, status in SystemHealth.objects.values_list(_text("system_id"), "status")}
    computed = compute_impacts(affected, own=own, edges=dependencies)
    for pk in affected:
        if pk not in dependencies and pk not in dependents:
            computed[pk] = Impact(status=None)
    rows = SystemImpact.objects.all()
    if len(affected) <= FILTER_UP_TO:  # beyond, binding each id costs more than reading every row
        rows = rows.filter(pk__in=affected)
    stored = {norm(pk): Impact(status=status, impacted_by=tuple(by))
              for pk, status, by in rows.values_list(_text("system_id"), "status", "impacted_by")}
    return {pk: computed[pk] for pk in affected if computed[pk] != stored.get(pk, Impact(status=None))}


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

    entity_mutate(kind="impact", entity_id=system_id, write=write, actor=actor, deleting=impact.status is None)
