"""Impact status as a pure function of own health and edges (no database)."""

import pytest

from catalog.impact_graph import Impact, compute_impacts, dependents_closure, worst_status, would_close_cycle


def edges(*triples):
    out = {}
    for system, depends_on, kind in triples:
        out.setdefault(system, []).append((depends_on, kind))
    return out


def test_own_health_decides_without_dependencies():
    assert compute_impacts(["a"], own={"a": "degraded"}, edges={}) == {"a": Impact(status="degraded")}
    assert compute_impacts(["a"], own={}, edges={}) == {"a": Impact(status=None)}


def test_a_full_dependency_passes_its_status_on_through_three_levels():
    graph = edges(("web", "api", "full"), ("api", "cache", "full"), ("cache", "db", "full"))
    own = {"web": "healthy", "api": "healthy", "cache": "healthy", "db": "unhealthy"}

    result = compute_impacts(["web", "api", "cache", "db"], own=own, edges=graph)

    # impacted_by names the system whose own health made it worse (db), not the hop in between.
    assert result == {
        "web": Impact("unhealthy", ("db",)),
        "api": Impact("unhealthy", ("db",)),
        "cache": Impact("unhealthy", ("db",)),
        "db": Impact("unhealthy"),
    }


def test_a_partial_dependency_passes_at_most_degraded_and_caps_the_whole_path():
    graph = edges(("web", "api", "full"), ("api", "db", "partial"))
    own = {"web": "healthy", "api": "healthy", "db": "unhealthy"}

    result = compute_impacts(["web", "api"], own=own, edges=graph)

    assert result == {"web": Impact("degraded", ("db",)), "api": Impact("degraded", ("db",))}


def test_own_health_as_bad_or_worse_decides_and_names_nobody():
    graph = edges(("api", "db", "full"), ("api", "cache", "partial"))
    own = {"api": "unhealthy", "db": "unhealthy", "cache": "unhealthy"}
    assert compute_impacts(["api"], own=own, edges=graph) == {"api": Impact("unhealthy")}


def test_every_system_that_made_it_worse_is_listed_sorted():
    # api is degraded on its own; db (unhealthy) makes it worse, cache (degraded) does not.
    graph = edges(("web", "api", "full"), ("api", "db", "full"), ("api", "cache", "full"))
    own = {"web": "healthy", "api": "degraded", "db": "unhealthy", "cache": "degraded"}

    result = compute_impacts(["web", "api"], own=own, edges=graph)

    assert result["api"] == Impact("unhealthy", ("db",))
    assert result["web"] == Impact("unhealthy", ("api", "cache", "db"))


def test_an_unreported_system_takes_its_dependencies_bad_status_but_not_a_healthy_one():
    graph = edges(("new", "db", "full"), ("other", "ok", "full"))
    own = {"db": "degraded", "ok": "healthy"}
    result = compute_impacts(["new", "other"], own=own, edges=graph)
    assert result == {"new": Impact("degraded", ("db",)), "other": Impact(None)}


def test_a_diamond_keeps_the_worst_path():
    graph = edges(("top", "left", "partial"), ("top", "right", "full"), ("left", "db", "full"),
                  ("right", "db", "full"))
    own = {"top": "healthy", "left": "healthy", "right": "healthy", "db": "unhealthy"}
    assert compute_impacts(["top"], own=own, edges=graph)["top"] == Impact("unhealthy", ("db",))


def test_a_chain_longer_than_the_recursion_limit():
    n = 5000
    graph = edges(*((f"s{i}", f"s{i + 1}", "full") for i in range(n)))
    own = {f"s{n}": "unhealthy"}
    assert compute_impacts(["s0"], own=own, edges=graph)["s0"] == Impact("unhealthy", (f"s{n}",))


def test_dependents_closure_and_cycles():
    dependents = {"db": ["api", "cache"], "cache": ["api"], "api": ["web"]}
    assert dependents_closure({"db"}, dependents) == {"db", "api", "cache", "web"}
    children = {"web": ["api"], "api": ["db"]}
    assert would_close_cycle("db", "web", children)
    assert would_close_cycle("db", "db", children)
    assert not would_close_cycle("web", "db", children)


@pytest.mark.parametrize("statuses, worst", [
    ([], None), ([None], None), (["healthy", None], "healthy"), (["degraded", "unhealthy", "healthy"], "unhealthy"),
])
def test_worst_status(statuses, worst):
    assert worst_status(statuses) == worst
