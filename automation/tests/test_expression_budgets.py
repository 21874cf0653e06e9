"""Budgets of expressions and templates (docs/expressions.md): whatever a user types, evaluation ends quickly with an
ExpressionError naming the bound, or a result; validation never computes what it refuses."""

import time

import pytest

from automation.expressions.budgets import MAX_DEPTH, MAX_LOOP_ITERATIONS, MAX_SIZE, MAX_SOURCE
from automation.expressions.evaluate import (
    ExpressionError,
    compile_expression,
    compile_template,
    evaluate,
    render_template,
)

# Seconds: a refusal must not be the work done first (the unbudgeted cases took minutes or a gigabyte); the
# bound is far above a refusal's milliseconds because CI shares 2 cores with real workers and benches.
QUICK = 10.0

TOO_LARGE_EXPRESSIONS = [
    "3 ** 400000000 > 0",
    "n ** 400000000",
    "2 ** 5000",
    "'a' * 900000000",
    "s * 900000000",
    "[1] * 900000000",
    "[s] * 900000000",
    "900000000 * 'a'",
    "(s * 1000) + (s * 1000)",
    "'%0900000000d' % 1",
    "'%.900000000f' % 1.0",
    "'%*d' % (900000000, 1)",
    "'{:>900000000}'.format(1)",
    "'{:>{w}}'.format(1, w=900000000)",
    "'a'.center(900000000)",
    "'a'.ljust(900000000)",
    "'a'.zfill(900000000)",
    "'\t'.expandtabs(900000000)",
    "(s * 1000).replace('a', s)",
    "s.join(range(10000)|map('string'))",
    "'a'|center(900000000)",
    "(s * 1000)|indent(s)",
    "(s * 10)|replace('', s * 100)",
    "range(10000)|join(s * 100)",
    "'%0900000000d'|format(1)",
    "[1]|batch(900000000, 0)|list",
    "[1]|slice(900000000)|list",
    "[s * 100] * 11",
    "range(10000)|batch(1)|sum(start=[s * 999])",
]
TOO_LARGE_TEMPLATES = [
    "{{ 'a' * 900000000 }}",
    "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
    "{% for i in range(10000) %}{% for j in range(10000) if false %}{% endfor %}{% endfor %}",
    "{% set big = [s * 1000] %}{{ big * 2 }}",
    "{% set big = s * 1000 %}{{ [big, big, big, big]|string }}",
    "{% set big = s * 1000 %}{{ [big, big] }}",
    "{% set big = s * 1000 %}{{ big ~ big }}",
]
SCOPE = {"n": 3, "s": "a" * 1000}


def _quick_error(run):
    started = time.monotonic()
    with pytest.raises(ExpressionError) as caught:
        run()
    assert time.monotonic() - started < QUICK
    return str(caught.value)


@pytest.mark.parametrize("text", TOO_LARGE_EXPRESSIONS)
def test_an_expression_past_a_budget_is_refused_quickly(text):
    assert _quick_error(lambda: evaluate(text, SCOPE)).startswith("expression too large: ")


@pytest.mark.parametrize("text", TOO_LARGE_TEMPLATES)
def test_a_template_past_a_budget_is_refused_quickly(text):
    assert _quick_error(lambda: render_template(text, SCOPE)).startswith("expression too large: ")


def test_the_messages_name_the_bound():
    assert evaluate_error("3 ** 400000000 > 0") == "expression too large: exponent 400000000 exceeds 4096"
    assert evaluate_error("'a' * 900000000") == (
        f"expression too large: repeating str 900000000 times exceeds {MAX_SIZE} characters or items")
    assert evaluate_error("'{:>900000000}'.format(1)") == "expression too large: a format width of 900000000 " \
                                                           "exceeds 10000"
    loops = "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}"
    with pytest.raises(ExpressionError, match=f"^expression too large: loops ran more than {MAX_LOOP_ITERATIONS}"):
        render_template(loops, {})


def evaluate_error(text):
    with pytest.raises(ExpressionError) as caught:
        evaluate(text, SCOPE)
    return str(caught.value)


@pytest.mark.parametrize("text", ["3 ** 400000000 > 0", "'a' * 900000000", "'%0900000000d' % 1"])
def test_constants_past_a_budget_are_refused_when_compiled_not_computed(text):
    # Jinja folds constant arithmetic while compiling; these would take minutes or a gigabyte to fold.
    assert _quick_error(lambda: compile_expression(text)).startswith("expression too large: ")
    assert _quick_error(lambda: compile_template("{{ " + text + " }}")).startswith("expression too large: ")


def test_an_operator_that_can_build_big_values_is_never_folded_while_compiling():
    started = time.monotonic()
    compile_expression("[0] * 900000000")  # a list literal is not a constant this check reads: left to run time
    compile_template("{{ ('a' ~ 'b') * 900000000 }}{{ 'a'|center(900000000) }}")
    assert time.monotonic() - started < QUICK
    assert _quick_error(lambda: evaluate("[0] * 900000000", {})).startswith("expression too large: ")


def test_constants_within_budget_still_compile_and_evaluate():
    assert evaluate("2 ** 10", {}) == 1024
    assert evaluate("'ab' * 3", {}) == "ababab"
    assert evaluate("[1] * 3 + [2]", {}) == [1, 1, 1, 2]
    assert evaluate("'%s-%05d' % ('a', 3)", {}) == "a-00003"
    assert evaluate("'{}:{:>4}'.format('a', 2)", {}) == "a:   2"
    assert evaluate("'a' ~ 1 ~ [2]", {}) == "a1[2]"
    assert evaluate("[[1], [2]]|sum(start=[])", {}) == [1, 2]
    assert evaluate("[1, 2, 3]|sum", {}) == 6
    assert evaluate("['a', 'b']|join('-')", {}) == "a-b"
    assert evaluate("'x'|center(5)", {}) == "  x  "
    assert evaluate("'a,b'.replace(',', ';')", {}) == "a;b"
    assert render_template("{% for i in range(3) %}{% for j in range(2) %}{{ i }}{{ j }} {% endfor %}{% endfor %}",
                           {}) == "00 01 10 11 20 21 "
    assert render_template("{% for x in items recursive %}{{ x.n }}{{ loop(x.c) }}{% endfor %}",
                           {"items": [{"n": 1, "c": [{"n": 2, "c": []}]}]}) == "12"


def test_loops_are_counted_across_nesting_and_recursion():
    nested = "{% for i in range(400) %}{% for j in range(400) %}{% endfor %}{% endfor %}"  # 160,400 iterations
    with pytest.raises(ExpressionError, match="loops ran more than"):
        render_template(nested, {})
    recursive = "{% for x in [1] recursive %}{{ loop(range(10000)) if x < 100000 }}{% endfor %}"
    assert _quick_error(lambda: render_template(recursive, {})).startswith("expression too large: ")


@pytest.mark.parametrize("text", ["(" * 5_000 + "1" + ")" * 5_000, "1" + "+1" * 50_000,
                                  "x" + ".a" * (MAX_DEPTH + 1), "-" * 20_000 + "1",
                                  " or ".join(["x"] * (MAX_DEPTH + 2))],
                         ids=["parentheses", "long", "attributes", "unary", "or-chain"])
def test_deep_or_long_expressions_are_refused_quickly(text):
    message = _quick_error(lambda: compile_expression(text))
    assert message.startswith("expression too large: ")
    assert _quick_error(lambda: compile_template("{{ " + text + " }}")).startswith("expression too large: ")


def test_the_source_length_is_the_first_check():
    assert _quick_error(lambda: compile_expression("1" * (MAX_SOURCE + 1))) == (
        f"expression too large: {MAX_SOURCE + 1} characters exceed {MAX_SOURCE}")


def test_a_recursion_inside_evaluation_is_an_expression_error():
    macro = "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}"
    assert _quick_error(lambda: render_template(macro, {})) == "expression too large: nested too deeply"


@pytest.mark.parametrize("key", ["items", "keys", "values", "get", "count", "pop", "update", "copy"])
def test_a_mapping_key_wins_over_a_method_of_the_same_name(key):
    payload = {key: ["a", "b"]}
    assert evaluate(f"payload.{key}", {"payload": payload}) == ["a", "b"]
    assert render_template(f"{{% for x in payload.{key} %}}{{{{ x }}}}{{% endfor %}}", {"payload": payload}) == "ab"


def test_without_the_key_a_mapping_method_still_works():
    assert evaluate("payload.items()|list", {"payload": {"a": 1}}) == [("a", 1)]
    assert evaluate("payload.get('a')", {"payload": {"a": 1}}) == 1
    assert evaluate("payload|items|list", {"payload": {"items": 1}}) == [("items", 1)]
