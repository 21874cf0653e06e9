"""Sandboxed expressions and templates, and the lazily read scope."""

from datetime import UTC, datetime, timedelta

import pytest

from automation.expressions.evaluate import ExpressionError, evaluate, is_true, render_config, render_template
from automation.expressions.scope import EntityReads, build_scope
from catalog.services import health_report, system_create

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def scope(**kwargs):
    base = dict(trigger={"payload": {"n": 3, "name": "api"}}, variables={"v": 1}, artifacts={}, now=NOW,
                context_system_id=None)
    base.update(kwargs)
    return build_scope(**base)


@pytest.mark.parametrize("text", [
    "''.__class__.__mro__",
    "trigger.__class__",
    "cycler.__init__.__globals__",
    "range.__self__",
    "(1).__class__.__subclasses__()",
])
def test_python_internals_are_out_of_reach(text):
    """Unsafe attributes are undefined (None) or refused; never a real Python object."""
    try:
        value = evaluate(text, scope())
    except ExpressionError:
        return
    assert value is None


def test_output_and_ranges_are_bounded():
    with pytest.raises(ExpressionError, match="exceeds"):
        render_template("{% for i in range(9000) %}{{ 'x' * 100 }}{% endfor %}", scope())
    with pytest.raises(ExpressionError, match="exceeds the limit"):
        evaluate("range(100000) | list | length", scope())


def test_filters():
    s = scope()
    assert evaluate("5 | minutes", s) == 300
    assert evaluate("2 | hours", s) == 7200
    assert is_true("'2026-11-22T11:00:00Z' | older_than(3000)", s)
    assert not is_true("'2026-11-22T11:59:00Z' | older_than(3000)", s)
    assert evaluate("'2026-11-22T11:59:00Z' | duration_since", s) == 60
    assert evaluate("now | iso", s) == "2026-11-22T12:00:00Z"
    assert evaluate("missing | default('d')", s) == "d"
    assert evaluate("{'b': 1, 'a': [1]} | json", s) == '{"a": [1], "b": 1}'


def test_render_config_keeps_native_types_for_a_lone_expression():
    s = scope()
    assert render_config({"n": "{{ trigger.payload.n }}", "msg": "n={{ trigger.payload.n }}",
                          "ids": ["{{ trigger.payload.name }}"], "raw": 7}, s) == {
        "n": 3, "msg": "n=3", "ids": ["api"], "raw": 7}


def test_secret_only_with_a_resolver():
    with pytest.raises(ExpressionError):
        render_config({"h": "{{ secret('T') }}"}, scope())
    assert render_config({"h": "Bearer {{ secret('T') }}"}, scope(), secret_resolver=lambda n: f"<{n}>") == {
        "h": "Bearer <T>"}


@pytest.mark.django_db
def test_state_and_health_are_read_lazily_and_recorded():
    system = system_create(name="api", actor="system")
    health_report(system=system, status="degraded", message="slow", actor="system")
    reads = EntityReads()
    s = scope(context_system_id=str(system.pk), reads=reads)

    assert evaluate("trigger.payload.n", s) == 3
    assert reads.entities == set() and not reads.time_dependent  # nothing read until touched

    assert evaluate(f"state.system['{system.pk}'].name", s) == "api"
    assert evaluate("health.system.status", s) == "degraded"
    assert reads.entities == {("system", str(system.pk)), ("health", str(system.pk))}
    assert not reads.time_dependent
    assert evaluate("health.system.in_status_for_seconds >= 0", build_scope(
        trigger={}, variables={}, artifacts={}, now=datetime.now(UTC) + timedelta(seconds=5),
        context_system_id=str(system.pk), reads=reads))
    assert reads.time_dependent
    assert evaluate("state.system['not-a-uuid']", s) is None
    assert evaluate(f"health.systems['{system.pk}'].message", s) == "slow"


@pytest.mark.django_db
def test_health_impact_status_and_impacted_by_read_the_impact_entity():
    from catalog.dependencies import dependency_create

    api, db = system_create(name="api", actor="system"), system_create(name="db", actor="system")
    dependency_create(system_id=api.pk, depends_on_id=db.pk, impact="partial", actor="system")
    health_report(system=api, status="healthy", actor="system")
    health_report(system=db, status="unhealthy", actor="system")
    reads = EntityReads()
    s = scope(context_system_id=str(api.pk), reads=reads)

    assert evaluate("health.system.impact_status", s) == "degraded"
    assert evaluate("health.system.impacted_by", s) == [str(db.pk)]
    assert evaluate(f"health.systems['{db.pk}'].impacted_by", s) == []
    # Recorded as reads of the impact entity, so a waiting run wakes when the impact changes.
    assert reads.entities == {("impact", str(api.pk)), ("impact", str(db.pk))}
    assert evaluate("health.system.impact_status", scope(context_system_id=None)) is None
