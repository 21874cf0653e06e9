"""Hypothesis over the one document validator: near-valid documents never crash it.

Each example starts from a valid document and applies random mutations (drop, rename or retype a key, replace
a value with junk, nest steps deeply, inject bad expressions and durations). The property: the validator
returns either no errors or a non-empty list of {path: str, message: non-empty str}; it never raises.
"""

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from automation.documents.validate import validate_document

SEEDS = [
    {"name": "sustained", "mode": "single", "concurrency_scope": "context_key",
     "triggers": [{"event": "healthcheck.system_degraded", "for": {"minutes": 5},
                   "filter": 'trigger.payload.new_status != "healthy"'}],
     "conditions": ["not health.system.in_maintenance"],
     "actions": [
         {"id": "open", "action": "incident.create", "config": {
             "title": "{{ trigger.payload.system_id }} down", "system_ids": ["{{ trigger.payload.system_id }}"],
             "dedupe_open_for_system": True}},
         {"wait_until": {"condition": 'health.system.status == "healthy"', "timeout": {"hours": 1}}},
         {"action": "incident.resolve", "config": {"message": "ok"}}]},
    {"name": "flow", "mode": "queued", "max_runs": 5,
     "triggers": [{"event": "incident.created", "window": {"count": 3, "minutes": 10, "refire": "once"}}],
     "actions": [
         {"choose": [{"when": "trigger.payload.severity == 'critical'",
                      "sequence": [{"delay": {"seconds": 5}}, {"stop": {"reason": "done"}}]}],
          "else": [{"variables": {"x": "{{ 1 + 1 }}"}}]},
         {"parallel": [[{"action": "automation.log", "config": {"message": "a"}}],
                       {"action": "automation.log", "config": {"message": "b"}}]},
         {"repeat": {"count": 3, "sequence": [{"action": "automation.log",
                                               "config": {"message": "{{ repeat.index }}"}}]}},
         {"wait_for_trigger": {"event": "incident.resolved", "timeout": {"minutes": 5}, "continue_on_timeout": True}},
         {"condition": "wait.completed"}]},
]

JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-10**12, max_value=10**12), st.floats(allow_nan=True),
    st.text(max_size=30), st.text(min_size=5000, max_size=20000).map(lambda s: s or "x" * 5000),
    st.sampled_from(["{{", "}}", "{{ trigger.payload.x }}", "{% for x in y %}", "{{ ''.__class__ }}",
                     "not a duration", "incident.created", "automation.log", "actions.0", "\x00", "ü💥"]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.just({"minutes": 0}), st.just({"hours": 10**6}), st.just({"template": "{{ oops"}),
)


def _containers(value, path=()):
    """Every (path, container) in a nested document (to a bounded depth: nesting compounds)."""
    yield path, value
    if len(path) > 40:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)):
                yield from _containers(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, (dict, list)):
                yield from _containers(item, path + (index,))


def fresh(draw, strategy):
    """A drawn value the mutations may change: `st.just` hands out one shared object."""
    return copy.deepcopy(draw(strategy))


@st.composite
def near_valid(draw):
    document = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        containers = list(_containers(document))
        _path, target = draw(st.sampled_from(containers))
        operation = draw(st.sampled_from(["drop", "rename", "replace", "append", "nest"]))
        if isinstance(target, dict) and target:
            key = draw(st.sampled_from(sorted(target, key=str)))
            if operation == "drop":
                del target[key]
            elif operation == "rename":
                target[draw(st.text(max_size=12))] = target.pop(key)
            elif operation == "nest":
                inner = copy.deepcopy(target.get(key))
                target[key] = {"sequence": [{"sequence": [{"parallel": [[inner], [copy.deepcopy(inner)]]}]}]}
            else:
                target[key] = fresh(draw, JUNK)
        elif isinstance(target, list):
            if operation == "append" or not target:
                target.append(fresh(draw, st.one_of(JUNK, st.just({"bogus_step": {}}),
                                                     st.just({"repeat": {"while": "}}"}}))))
            elif operation == "drop":
                target.pop(draw(st.integers(min_value=0, max_value=len(target) - 1)))
            else:
                target[draw(st.integers(min_value=0, max_value=len(target) - 1))] = fresh(draw, JUNK)
    if draw(st.integers(min_value=0, max_value=20)) == 0:
        return fresh(draw, JUNK)  # not even a mapping
    return document


def assert_well_formed(result):
    assert isinstance(result.errors, list)
    for error in result.errors:
        assert set(error) == {"path", "message"}, error
        assert isinstance(error["path"], str)
        assert isinstance(error["message"], str) and error["message"], error


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(near_valid())
def test_near_valid_documents_never_crash_the_validator(document):
    assert_well_formed(validate_document(document))


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_text_never_crashes_the_validator(text):
    assert_well_formed(validate_document(text))


def test_the_seeds_are_valid_so_the_mutations_start_from_something_real():
    for seed in SEEDS:
        assert validate_document(copy.deepcopy(seed)).errors == []


def test_a_huge_integer_literal_is_an_error_not_a_crash():
    """Found by the fuzzer: Jinja's lexer raised ValueError (int() refuses > 4,300 digits), a 500 from the API."""
    digits = "9" * 5000
    document = {"name": "big", "triggers": [{"event": "incident.created", "filter": f"1 == {digits}"}],
                "actions": [{"action": "automation.log", "config": {"message": "{{ %s }}" % digits}}]}
    errors = validate_document(document).errors
    assert {e["path"] for e in errors} == {"triggers.0.filter", "actions.0.config.message"}
    assert all("4300" in e["message"] or "digits" in e["message"] for e in errors), errors


def test_deeply_nested_parentheses_are_an_error_not_a_crash():
    document = {"name": "deep", "triggers": [{"event": "incident.created", "filter": "(" * 3000 + "1" + ")" * 3000}],
                "actions": [{"action": "automation.log", "config": {"message": "x"}}]}
    [error] = validate_document(document).errors
    assert error["path"] == "triggers.0.filter"


def test_a_non_string_event_in_wait_for_trigger_is_an_error_not_a_crash():
    """Found by the fuzzer: a mapping as the awaited event raised TypeError (unhashable) in the validator."""
    document = {"name": "w", "triggers": [{"event": "incident.created"}],
                "actions": [{"wait_for_trigger": {"event": {"minutes": 0}}}]}
    [error] = validate_document(document).errors
    assert error["path"] == "actions.0.wait_for_trigger.event"
