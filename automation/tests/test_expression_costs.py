"""Every filter, test and method the sandbox exposes has a declared input cap (automation/expressions/costs.py)
that keeps one call inside the evaluation's deadline: the slow constructs are refused or end at the deadline
with an error naming the bound, and a property test calls each one with inputs at its cap."""

import functools
import time
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from automation.expressions.budgets import MAX_SIZE
from automation.expressions.costs import FILTER_COSTS, METHODS
from automation.expressions.evaluate import ExpressionError, compile_template, evaluate, render_template
from automation.expressions.sandbox import MAX_OUTPUT, environment

QUICK = 1.0  # seconds: the 0.5 s deadline with the margin test_expression_budgets allows a loaded machine
TEXT = "ab cd.ef\n" * (MAX_SIZE // 9 + 1)
BIG = list(range(MAX_SIZE - 1))


def _timed_error(run) -> str:
    started = time.monotonic()
    with pytest.raises(ExpressionError) as caught:
        run()
    assert time.monotonic() - started < QUICK
    return str(caught.value)


@pytest.mark.parametrize(("expression", "message"), [
    ("s|wordwrap", "wordwrap reads at most 20000 characters or items"),
    ("s|indent", "indent reads at most 100000 characters or items"),
    ("s|title", "title reads at most 100000 characters or items"),
    ("s.encode('idna')", "encode() with the codec 'idna' is not available"),
    ("s[:1000].encode('punycode')", "encode() with the codec 'punycode' is not available"),
    ("(1).to_bytes(900000000, 'big')", "access to attribute 'to_bytes' of 'int' object is unsafe"),
    ("(big|reverse|list)[:100000]|select('in', big)|list", "evaluation ran longer than 0.5"),
    ("(big|reverse|list)[:100000]|reject('in', big)|list", "evaluation ran longer than 0.5"),
    ("big|select('divisibleby', 3)|list|length", "select reads at most 100000"),
    ("big|map('string')|list", "map reads at most 100000"),
])
def test_each_slow_construct_is_refused_or_ends_at_the_deadline_naming_its_bound(expression, message):
    # `in` on a list of 999,999 items is a few milliseconds: select over 100,000 of them would take minutes.
    assert message in _timed_error(lambda: evaluate(expression, {"s": TEXT, "big": BIG}))


def test_urlize_is_not_available_and_validation_says_so():
    with pytest.raises(ExpressionError, match="No filter named 'urlize'"):
        compile_template("{{ s|urlize }}")


@pytest.mark.parametrize("template", [
    "{% set x %}{% for i in range(10000) %}" + "a" * 10 + "{% endfor %}{% endset %}{{ x|length }}",
    "{% macro m() %}{% for i in range(10000) %}" + "a" * 10 + "{% endfor %}{% endmacro %}{{ m()|length }}",
    "{% filter upper %}{% for i in range(10000) %}" + "a" * 10 + "{% endfor %}{% endfilter %}",
    "{% macro m() %}{{ caller()|length }}{% endmacro %}{% call m() %}{% for i in range(10000) %}"
    + "a" * 10 + "{% endfor %}{% endcall %}",
])
def test_a_captured_block_counts_against_the_output_cap(template):
    message = _timed_error(lambda: render_template(template, {}))
    assert message == f"expression too large: a captured block ({{% set %}}, a macro, {{% filter %}} or a call " \
                      f"block) exceeds {MAX_OUTPUT} characters"


def test_output_captured_piece_by_piece_counts_before_the_block_is_joined():
    # Each piece is a new 100,000-character string: the list grows before any join could refuse it.
    template = "{% set x %}{% for i in range(10000) %}{{ s ~ i }}{% endfor %}{% endset %}{{ x|length }}"
    message = _timed_error(lambda: render_template(template, {"s": "a" * 100_000}))
    assert message == f"expression too large: the template produced more than {MAX_SIZE} characters"


def test_a_captured_block_within_the_cap_renders():
    template = "{% set x %}{% for i in range(100) %}ab{% endfor %}{% endset %}{{ x|length }}|{{ x[:4] }}"
    assert render_template(template, {}) == "200|abab"


def test_every_filter_the_sandbox_exposes_is_declared_and_nothing_undeclared_is_exposed():
    assert set(environment.filters) <= set(FILTER_COSTS)
    assert "urlize" not in environment.filters
    assert {"map", "select", "reject", "sort", "wordwrap", "indent", "pprint"} <= set(environment.filters)


# --- the property: each filter, test and method at its cap ends inside the deadline --------------------------

# How each filter is called on its input (`v`): the arguments it needs, and the kind of input it reads.
FILTER_CALLS = {
    "attr": ("'real'", "numbers"), "batch": ("3", "numbers"), "center": ("80", "text"),
    "d": ("1", "text"), "default": ("1", "text"), "dictsort": ("", "mapping"), "format": ("", "text"),
    "groupby": ("'real'", "numbers"), "indent": ("4", "text"), "items": ("", "mapping"),
    "join": ("','", "numbers"), "map": ("'string'", "numbers"), "reject": ("'odd'", "numbers"),
    "rejectattr": ("'real'", "numbers"), "replace": ("'a', 'bb'", "text"), "round": ("", "number"),
    "select": ("'odd'", "numbers"), "selectattr": ("'real'", "numbers"), "slice": ("3", "numbers"),
    "sum": ("", "numbers"), "truncate": ("100", "text"), "wordwrap": ("10", "text"), "xmlattr": ("", "mapping"),
    "minutes": ("", "number"), "hours": ("", "number"), "older_than": ("60", "date"),
    "duration_since": ("", "date"), "iso": ("", "date"), "abs": ("", "number"), "filesizeformat": ("", "number"),
    "float": ("", "text"), "int": ("", "text"), "unique": ("", "numbers"), "sort": ("", "numbers"),
    "max": ("", "numbers"), "min": ("", "numbers"), "reverse": ("", "numbers"), "first": ("", "numbers"),
    "last": ("", "numbers"), "length": ("", "numbers"), "count": ("", "numbers"), "list": ("", "numbers"),
    "random": ("", "numbers"), "tojson": ("", "numbers"), "json": ("", "numbers"), "pprint": ("", "numbers"),
}
ALPHABETS = ["a", "a b.c\n", "<a href='x'>", "é漢\t", "{{ x }}", "%s %d", "-- --"]


@functools.lru_cache(maxsize=64)  # built once per shape: the filters only read it
def _input(kind: str, cap: int, alphabet: str):
    if kind == "text":
        return (alphabet * (cap // len(alphabet) + 1))[:cap]
    if kind == "numbers":
        return list(range(cap - 1))  # a list counts one for itself when measured deep
    if kind == "mapping":
        return {f"k{i}": i for i in range((cap - 1) // 2)}
    return {"number": 10 ** 300, "date": "2026-01-01T00:00:00Z"}[kind]


def _cap(name: str) -> int:
    return FILTER_COSTS[name] or MAX_SIZE


def _ends_inside_the_deadline(expression: str, scope: dict):
    started = time.monotonic()
    try:
        evaluate(expression, scope)
    except ExpressionError:
        pass
    elapsed = time.monotonic() - started
    assert elapsed < QUICK, f"{expression} took {elapsed:.2f} s"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(environment.filters)), alphabet=st.sampled_from(ALPHABETS))
def test_each_filter_at_its_cap_ends_inside_the_deadline(name, alphabet):
    arguments, kind = FILTER_CALLS.get(name, ("", "text"))
    call = f"v|{name}({arguments})" if arguments else f"v|{name}"
    _ends_inside_the_deadline(call, {"v": _input(kind, _cap(name), alphabet)})


TEST_CALLS = {"divisibleby": "3", "sameas": "v", "eq": "1", "equalto": "1", "ne": "1", "lt": "1", "le": "1",
              "gt": "1", "ge": "1", "lessthan": "1", "greaterthan": "1", "==": "1", "!=": "1", "<": "1",
              "<=": "1", ">": "1", ">=": "1", "in": "big"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(environment.tests)), alphabet=st.sampled_from(ALPHABETS),
       kind=st.sampled_from(["text", "numbers"]))
def test_each_test_at_its_cap_ends_inside_the_deadline(name, alphabet, kind):
    argument = TEST_CALLS.get(name)
    test = f"{name}({argument})" if argument else name
    scope = {"v": _input(kind, 10_000, alphabet), "big": list(range(MAX_SIZE - 1))}
    # select calls the test once per item: the cap of select times the test's own cost.
    if name.isidentifier() and name != "in":
        _ends_inside_the_deadline(f"v is {test}", scope)
    _ends_inside_the_deadline(f"(v|list)[:100000]|select('{name}'{', ' + argument if argument else ''})|list",
                              scope)


STR_CALLS = {"center": "80", "count": "'a'", "endswith": "'a'", "expandtabs": "4", "find": "'zz'",
             "format": "", "index": "'a'", "join": "['x', 'y']", "ljust": "80", "lstrip": "'a'",
             "partition": "'.'", "removeprefix": "'a'", "removesuffix": "'a'", "replace": "'a', 'b'",
             "rfind": "'zz'", "rindex": "'a'", "rjust": "80", "rpartition": "'.'", "rsplit": "'.'",
             "rstrip": "'a'", "split": "'.'", "startswith": "'a'", "strip": "'a'", "translate": "{97: 'b'}",
             "zfill": "80", "encode": "'utf-8'", "format_map": "{}"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(METHODS[str])), alphabet=st.sampled_from(["a", "a b.c\n", "é漢\t"]))
def test_each_string_method_at_its_cap_ends_inside_the_deadline(name, alphabet):
    _ends_inside_the_deadline(f"v.{name}({STR_CALLS.get(name, '')})", {"v": _input("text", MAX_SIZE, alphabet)})


def test_a_string_method_past_its_cap_is_refused():
    with pytest.raises(ExpressionError, match="split\\(\\) reads at most 1000000 characters"):
        evaluate("v.split()", {"v": "a " * MAX_SIZE})


def test_the_cap_table_in_the_docs_is_the_declared_one():
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "expressions.md").read_text()
    text = text[text.index("| reads at most | filters |"):]
    text = text[:text.index("\n\n")]
    documented = {}
    for caps, names in re.findall(r"^\| ([^|]+) \| ((?:`[a-z_]+`(?:, )?)+) \|$", text, re.MULTILINE):
        cap = None if caps.startswith("no cap") else int(caps.split()[0].replace(",", ""))
        documented.update({name: cap for name in re.findall(r"`([a-z_]+)`", names)})
    declared = {name: cap for name, cap in FILTER_COSTS.items() if name not in ("d", "e", "forceescape", "safe")}
    assert documented == declared


def test_every_task_has_the_documented_time_limits(settings):
    from checkstack.celery import RecycledAfterTimeLimit, app

    assert (settings.CHECKSTACK_TASK_SOFT_TIME_LIMIT_SECONDS, settings.CHECKSTACK_TASK_TIME_LIMIT_SECONDS) == (300, 330)
    assert (app.conf.task_soft_time_limit, app.conf.task_time_limit) == (300, 330)
    app.loader.import_default_modules()  # what a worker does at start: every app's tasks.py
    tasks = [task for name, task in app.tasks.items() if name.startswith("checkstack.")]
    assert len(tasks) >= 15 and all(isinstance(task, RecycledAfterTimeLimit) for task in tasks)
    assert {(task.soft_time_limit, task.time_limit) for task in tasks} == {(300, 330)}  # none overrides them


def test_a_published_task_leaves_its_time_limits_to_the_worker_that_runs_it():
    # The worker obeys a message's limits over its own settings; Celery would stamp the publisher's there.
    from celery import signature

    from automation import tasks
    from automation.entities.delivery import ROUTE_CHANGE_EVENT
    from checkstack.celery import app

    sent = []

    def capture(*args, **kwargs):
        sent.append(kwargs["headers"]["timelimit"])

    with app.producer_or_acquire() as producer, mock.patch.object(producer, "publish", capture):
        tasks.route_change_event.apply_async(("c1",), producer=producer)
        signature(ROUTE_CHANGE_EVENT).apply_async(("c2",), producer=producer)  # by name, as wake_router sends
        tasks.route_change_event.apply_async(("c3",), producer=producer, soft_time_limit=7)  # explicit: kept
    assert sent == [[None, None], [None, None], [None, 7]]
