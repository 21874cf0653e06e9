"""A document validates in well under a second whatever it contains (docs/expressions.md: bounded the same way in
validate, simulate and runs), and interval schedules take 1 second to 1 year."""

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from automation.documents.validate import validate_document
from automation.expressions.evaluate import ExpressionError, evaluate, render_template

QUICK = 1.0  # seconds, generous for two shared cores


def document(filter_text="true", message="x", **trigger):
    return {"name": "n", "triggers": [{"event": "automation.manual", "filter": filter_text, **trigger}],
            "actions": [{"action": "test.note", "config": {"text": message}}]}


def timed_errors(doc):
    started = time.monotonic()
    errors = validate_document(doc).errors
    assert time.monotonic() - started < QUICK
    return errors


@pytest.mark.parametrize("filter_text, message", [
    ("3 ** 400000000 > 0", "x"),
    ("'a' * 900000000", "x"),
    ("true", "{{ 'a' * 900000000 }}"),
    ("true", "{{ 3 ** 400000000 }}"),
    ("(" * 5_000 + "1" + ")" * 5_000, "x"),
    ("1" + "+1" * 50_000, "x"),
    ("true", "{{ " + "x." * 200 + "y }}"),
], ids=["power", "repeat", "template-repeat", "template-power", "parentheses", "long", "deep-attributes"])
def test_a_document_with_a_constant_past_a_budget_is_refused_quickly(journal, filter_text, message):
    errors = timed_errors(document(filter_text, message))
    assert errors and all("expression too large: " in error["message"] for error in errors)


def test_a_document_with_loops_past_a_budget_validates_quickly_and_fails_when_run(journal):
    loops = "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}"
    assert timed_errors(document(message=loops)) == []  # validation parses; it does not run the loops
    started = time.monotonic()
    with pytest.raises(ExpressionError, match="^expression too large: loops ran more than"):
        render_template(loops, {})
    assert time.monotonic() - started < QUICK


@pytest.mark.parametrize("seconds, valid", [(0, False), (1, True), (9, True), (365 * 24 * 3600, True),
                                            (365 * 24 * 3600 + 1, False)])
def test_an_interval_takes_one_second_to_one_year(journal, seconds, valid):
    doc = {"name": "n", "triggers": [{"event": "automation.interval", "config": {"seconds": seconds}}],
           "actions": [{"action": "test.note", "config": {"text": "x"}}]}
    errors = validate_document(doc).errors
    assert (errors == []) is valid
    if not valid:
        assert [error["path"] for error in errors] == ["triggers.0.config.seconds"]


# Fragments that are dangerous alone or combined; each example joins a few with an operator.
ATOMS = ["3", "400000000", "900000000", "'a'", "s", "[1]", "[s]", "range(10000)", "(range(10000)|list)",
         "n", "'%0900000000d'", "'{:>900000000}'"]
OPERATORS = [" ** ", " * ", " + ", " % ", " ~ "]
FILTERS = ["", "|join(s)", "|center(900000000)", "|replace('', s)", "|list", "|string", "|indent(900000)",
           "|batch(900000000)|list", "|sum(start=[])", "|wordwrap(1, true, s)", "|format(1)"]


@st.composite
def expressions(draw):
    atoms = draw(st.lists(st.sampled_from(ATOMS), min_size=1, max_size=4))
    text = atoms[0]
    for atom in atoms[1:]:
        text = f"({text}{draw(st.sampled_from(OPERATORS))}{atom})"
    return text + draw(st.sampled_from(FILTERS))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=expressions(), nested=st.booleans())
def test_no_combination_of_dangerous_fragments_takes_more_than_a_second(journal, text, nested):
    scope = {"s": "a" * 10_000, "n": 3}
    template = "{{ " + text + " }}"
    if nested:
        template = "{% for i in range(10000) %}{% for j in range(10000) %}" + template + "{% endfor %}{% endfor %}"
    started = time.monotonic()
    validate_document(document(text, template))
    try:
        evaluate(text, scope)
        render_template(template, scope)
    except ExpressionError:
        pass
    assert time.monotonic() - started < QUICK


@pytest.mark.parametrize("text", ["3 ** 400000000", "s * 900000000", "range(10000)|join(s * 100)",
                                  "'%0900000000d' % 1", "(s * 100)|center(900000000)"])
def test_the_known_bad_fragments_raise_the_budget_error(text):
    with pytest.raises(ExpressionError, match="^expression too large: "):
        evaluate(text, {"s": "a" * 10_000})
