"""Impact status as a pure function of own health and dependency edges (no database).

A system's impact status is its own health made worse by what it depends on, transitively: a `full` edge
passes the dependency's impact status on unchanged, a `partial` one at most `degraded`. Its `impacted_by`
lists the systems whose own health made it worse: every system reachable through its dependencies whose
bad status, capped along the path, is worse than the system's own health.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

STATUSES = ("healthy", "degraded", "unhealthy")
RANK = {status: rank for rank, status in enumerate(STATUSES)}
PARTIAL_CAP = RANK["degraded"]


@dataclass(frozen=True)
class Impact:
    status: str | None  # None: nothing is known (no own report, nothing bad upstream)
    impacted_by: tuple[str, ...] = ()

    def state(self) -> dict:
        return {"status": self.status, "impacted_by": list(self.impacted_by)}


def worst_status(statuses: Iterable[str | None]) -> str | None:
    """The worst known status among `statuses` (None when none is known)."""
    ranks = [RANK[s] for s in statuses if s is not None]
    return STATUSES[max(ranks)] if ranks else None


def dependents_closure(system_ids: Iterable[str], dependents: Mapping[str, Iterable[str]]) -> set[str]:
    """`system_ids` and every system that depends on one of them, transitively."""
    seen = set(system_ids)
    stack = list(seen)
    while stack:
        for parent in dependents.get(stack.pop(), ()):
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen


def would_close_cycle(system_id: str, depends_on_id: str, dependencies: Mapping[str, Iterable[str]]) -> bool:
    """Whether the edge system → depends_on closes a cycle: `system` is reachable from `depends_on`."""
    if system_id == depends_on_id:
        return True
    seen, stack = {depends_on_id}, [depends_on_id]
    while stack:
        for child in dependencies.get(stack.pop(), ()):
            if child == system_id:
                return True
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return False


def compute_impacts(targets: Iterable[str], *, own: Mapping[str, str | None],
                    edges: Mapping[str, list[tuple[str, str]]]) -> dict[str, Impact]:
    """The impact of each target; `own`: system id → own status, `edges`: id → [(depends_on id, impact)].

    Iterative depth-first (a chain may be longer than Python's recursion limit); each system's reachable bad
    roots are computed once and shared, so a whole graph costs one pass over its edges per bad root.
    """
    reach: dict[str, dict[str, int]] = {}
    for target in targets:
        stack = [target]
        while stack:
            node = stack[-1]
            if node in reach:
                stack.pop()
                continue
            pending = [child for child, _kind in edges.get(node, ()) if child not in reach]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            reach[node] = _reach_of(node, own, edges, reach)
    return {target: _impact_of(target, own.get(target), reach[target]) for target in targets}


def _reach_of(node: str, own, edges, reach) -> dict[str, int]:
    """Bad systems reachable from `node` (itself included) → the worst rank each passes to `node`."""
    found: dict[str, int] = {}
    own_rank = RANK.get(own.get(node), 0)
    if own_rank > 0:
        found[node] = own_rank
    for child, kind in edges.get(node, ()):
        cap = PARTIAL_CAP if kind == "partial" else RANK["unhealthy"]
        for root, rank in reach[child].items():
            rank = min(rank, cap)
            if rank > found.get(root, 0):
                found[root] = rank
    return found


def _impact_of(system_id: str, own_status: str | None, reached: dict[str, int]) -> Impact:
    own_rank = RANK.get(own_status, 0)
    worse = {root: rank for root, rank in reached.items() if root != system_id and rank > own_rank}
    if not worse:
        return Impact(status=own_status)
    return Impact(status=STATUSES[max(worse.values())], impacted_by=tuple(sorted(worse)))
