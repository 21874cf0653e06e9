"""Stage 1's index keys: the shapes indexed, and that the index never leaves out a trigger whose filter passes."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from automation.engine.firing.trigger_index import index_key_of, index_of, payload_keys
from automation.engine.scope import trigger_scope
from automation.expressions.evaluate import ExpressionError, is_true


@pytest.mark.parametrize("expression, key", [
    ("trigger.payload.system_id == 's1'", "eq:system_id:s1"),
    ("'s1' == trigger.payload.system_id", "eq:system_id:s1"),
    ("trigger.payload['system_id'] == 's1'", "eq:system_id:s1"),
    ("trigger['payload']['incident_id'] == 'i1'", "eq:incident_id:i1"),
    ("'s1' in trigger.payload.system_ids", "in:system_ids:s1"),
    ("'s1' in trigger.payload.system_ids and trigger.payload.incident_id == 'i1'", "eq:incident_id:i1"),
    ("trigger.payload.new_status != 'up' and trigger.payload.system_id == 's1'", "eq:system_id:s1"),
    ("trigger.payload.system_id == 's1' or trigger.payload.system_id == 's2'", None),
    ("not trigger.payload.system_id == 's1'", None),
    ("trigger.payload.system_id == 1", None),
    ("trigger.payload.system_id|lower == 's1'", None),
    ("trigger.payload.system.id == 's1'", None),
    ("trigger.event == 's1'", None),
    ("trigger.payload.system_id in ['s1', 's2']", None),
    ("trigger.payload.system_id == 'x' * 300", None),
    ("(", None),
    ("", None),
    (None, None),
])
def test_indexed_shapes(expression, key):
    assert index_key_of(expression) == key


def test_a_membership_key_names_the_field_a_string_value_matches_by_substring():
    assert index_of("'s1' in trigger.payload.system_ids") == ("in:system_ids:s1", "in:system_ids:*")
    assert index_of("trigger.payload.system_id == 's1'") == ("eq:system_id:s1", None)


def test_payload_keys_of_strings_lists_dicts_and_others():
    keys = payload_keys({"system_id": "s1", "system_ids": ["s1", 2, ["s3"]], "labels": {"k": 1}, "n": 3,
                         "gone": None})
    assert keys == {"eq:system_id:s1", "in:system_id:*", "in:system_ids:s1", "in:labels:k"}


FIELDS = ["system_id", "system_ids", "incident_id", "items", "a:b"]
TEXT = st.text(alphabet="ab*:'", min_size=0, max_size=3)


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


@st.composite
def field_refs(draw):
    field = draw(st.sampled_from(FIELDS))
    forms = [f"trigger.payload[{_literal(field)}]", f"trigger['payload'][{_literal(field)}]"]
    if field.isidentifier():
        forms += [f"trigger.payload.{field}", f"trigger['payload'].{field}"]
    return draw(st.sampled_from(forms))


literals = st.one_of(TEXT.map(_literal), st.integers(-2, 2).map(str), st.sampled_from(["none", "true", "[]"]),
                     st.lists(TEXT, max_size=2).map(lambda items: "[" + ", ".join(map(_literal, items)) + "]"))


@st.composite
def atoms(draw):
    ref, literal = draw(field_refs()), draw(literals)
    return draw(st.sampled_from([
        f"{ref} == {literal}", f"{literal} == {ref}", f"{literal} in {ref}", f"{ref} in {literal}",
        f"{ref} != {literal}", f"{ref}|string == {literal}", f"trigger.event == {literal}",
        f"{ref}.x == {literal}", "true", "false", f"{ref}",
    ]))


filters = st.recursive(atoms(), lambda inner: st.one_of(
    st.tuples(inner, inner).map(lambda pair: f"({pair[0]}) and ({pair[1]})"),
    st.tuples(inner, inner).map(lambda pair: f"({pair[0]}) or ({pair[1]})"),
    inner.map(lambda expression: f"not ({expression})"),
), max_leaves=4)

values = st.one_of(TEXT, st.integers(-2, 2), st.none(), st.booleans(),
                   st.lists(st.one_of(TEXT, st.integers(0, 2)), max_size=3),
                   st.dictionaries(TEXT, st.integers(0, 1), max_size=2))
payloads = st.dictionaries(st.sampled_from(FIELDS), values, max_size=4)


def _scope(payload: dict) -> dict:
    # The trigger part of a firing's scope: the filters generated here read nothing else (the full scope would
    # also derive a context system from the payload, which this test's odd payloads are not meant to exercise).
    return {"trigger": trigger_scope(trigger_id="t", event="healthcheck.system_health_changed", actor="system",
                                     payload=payload)}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expression=filters, payload=payloads)
def test_a_trigger_the_index_leaves_out_never_has_a_filter_that_passes(expression, payload):
    key, field = index_of(expression)
    keys = payload_keys(payload)
    left_out = key is not None and key not in keys and field not in keys
    if not left_out:
        return
    scope = _scope(payload)
    try:
        passed = is_true(expression, scope)
    except ExpressionError:
        passed = False  # an error never starts anything
    assert not passed, (expression, payload, key)


@settings(max_examples=200, deadline=None)
@given(field=st.sampled_from(FIELDS), value=TEXT, payload=payloads)
def test_an_indexed_equality_is_read_exactly_when_the_payload_has_the_value(field, value, payload):
    expression = f"trigger.payload[{_literal(field)}] == {_literal(value)}"
    key, _field = index_of(expression)
    scope = _scope(payload)
    assert (key in payload_keys(payload)) >= is_true(expression, scope)
    assert key == f"eq:{field}:{value}"
