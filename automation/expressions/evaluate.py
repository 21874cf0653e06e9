"""Evaluate expressions and render templates in the sandbox; find what they reference."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateError, nodes
from jinja2.environment import TemplateExpression
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError
from jinja2.parser import Parser

from .budgets import BudgetExceeded, check_source
from .compile_cache import CompileCache
from .sandbox import MAX_OUTPUT, environment


class ExpressionError(Exception):
    """An expression or template that does not parse, or fails while it runs."""


_ONE_EXPRESSION = re.compile(r"^\s*\{\{(?P<body>.*)\}\}\s*$", re.DOTALL)
_RUNTIME_ERRORS = (TemplateError, SecurityError, UndefinedError, TypeError, ValueError, ZeroDivisionError,
                   AttributeError, KeyError, IndexError, OverflowError, LookupError, BudgetExceeded,
                   MemoryError, RecursionError)  # the last two: a bound no budget foresaw is still this error


# What parsing can raise besides TemplateError: Jinja's lexer converts integer literals with int(), which
# refuses more than 4,300 digits (ValueError), and very deep nesting exhausts the parser's recursion.
_PARSE_ERRORS = (TemplateError, ValueError, OverflowError, RecursionError, BudgetExceeded, MemoryError)


def _describe(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "expression too large: nested too deeply"
    if isinstance(exc, MemoryError):
        return "expression too large: out of memory"
    if isinstance(exc, TemplateError) and getattr(exc, "message", None):
        return exc.message
    return str(exc) or type(exc).__name__


def _parsed(parse: Callable[[str], Any], text: str):
    try:
        return parse(text)
    except _PARSE_ERRORS as exc:
        raise ExpressionError(_describe(exc)) from None


def _cache_budget() -> int:
    from django.conf import settings

    return settings.CHECKSTACK_COMPILE_CACHE_BYTES


# One cache, bounded by bytes, for every compiled form and parse of this process (compile_cache.py).
cache = CompileCache(_cache_budget, (ExpressionError,))


@dataclass(frozen=True)
class Compiled:
    """A source compiled once, with what it references (read from the same parse, before compiling)."""

    run: Any  # a callable expression, or a jinja2 Template
    artifacts: frozenset  # (step id, type) pairs
    secrets: frozenset  # literal secret names; "" for a computed one


def _compiled_expression(text: str) -> Compiled:
    check_source(text)
    parser = Parser(environment, text, state="variable")
    expression = parser.parse_expression()
    if not parser.stream.eos:
        raise TemplateSyntaxError("chunk after expression", parser.stream.current.lineno, None, None)
    artifacts, secrets = _references(expression)
    # What Environment.compile_expression builds, from the tree already parsed (compiling rewrites it).
    tree = nodes.Template([nodes.Assign(nodes.Name("result", "store"), expression, lineno=1)], lineno=1)
    return Compiled(TemplateExpression(environment.from_string(tree), True), artifacts, secrets)


def _compiled_template(text: str) -> Compiled:
    tree = environment.parse(text)
    artifacts, secrets = _references(tree)
    return Compiled(environment.from_string(tree), artifacts, secrets)


def compiled_expression(text: str) -> Compiled:
    """A bare expression compiled (cached) with its references; raises ExpressionError when it does not parse."""
    return cache.get(("expression", text), text, lambda: _parsed(_compiled_expression, text))


def compiled_template(text: str) -> Compiled:
    return cache.get(("template", text), text, lambda: _parsed(_compiled_template, text))


def compile_expression(text: str):
    """Compile a bare expression (cached); raises ExpressionError when it does not parse."""
    return compiled_expression(text).run


def compile_template(text: str):
    return compiled_template(text).run


def parse_template(text: str):
    """The parse tree of a template (cached; read it, never change it); raises ExpressionError."""
    return cache.get(("parse", text), text, lambda: _parsed(environment.parse, text))


def evaluate(text: str, scope: dict) -> Any:
    expression = compile_expression(text)
    try:
        return expression(**scope)
    except _RUNTIME_ERRORS as exc:
        raise ExpressionError(_describe(exc)) from None


def is_true(text: str, scope: dict) -> bool:
    return bool(evaluate(text, scope))


def render_template(text: str, scope: dict) -> str:
    template = compile_template(text)
    try:
        pieces, size = [], 0
        for piece in template.generate(**scope):
            size += len(piece)
            if size > MAX_OUTPUT:
                raise ExpressionError(f"template output exceeds {MAX_OUTPUT} characters")
            pieces.append(piece)
    except _RUNTIME_ERRORS as exc:
        raise ExpressionError(_describe(exc)) from None
    return "".join(pieces)


def render_config(value: Any, scope: dict, *, secret_resolver: Callable[[str], str] | None = None,
                  secret_fields=None) -> Any:
    """Render every string of an action config; `"{{ expr }}"` alone keeps the value's own type.

    With `secret_fields` (top-level config keys), `secret()` exists only while those keys render: anywhere
    else it is undefined, so calling it fails. Without, the resolver serves every key (simulate, which
    resolves every secret to ***).
    """
    if secret_resolver is None:
        return _render(value, scope)
    with_secret = {**scope, "secret": secret_resolver}
    if secret_fields is None or not isinstance(value, dict):
        return _render(value, with_secret)
    return {key: _render(item, with_secret if key in secret_fields else scope) for key, item in value.items()}


def _render(value, scope):
    if isinstance(value, str):
        if "{{" not in value and "{%" not in value:
            return value
        whole = _ONE_EXPRESSION.match(value)
        if whole and "{{" not in whole["body"] and "{%" not in value:
            return evaluate(whole["body"], scope)
        return render_template(value, scope)
    if isinstance(value, dict):
        return {key: _render(item, scope) for key, item in value.items()}
    if isinstance(value, list):
        return [_render(item, scope) for item in value]
    return value


def _references(tree) -> tuple[frozenset[tuple[str, str]], frozenset[str]]:
    """(artifact (step id, type) pairs, literal secret names) referenced in a parsed tree."""
    artifacts, secrets = set(), set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        chain = []
        current = node
        while isinstance(current, (nodes.Getattr, nodes.Getitem)):
            key = current.attr if isinstance(current, nodes.Getattr) else (
                current.arg.value if isinstance(current.arg, nodes.Const) else None)
            chain.append(key)
            current = current.node
        if isinstance(current, nodes.Name) and current.name == "artifacts":
            chain.reverse()
            if len(chain) >= 2 and chain[0] is not None and chain[1] is not None:
                artifacts.add((str(chain[0]), str(chain[1])))
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name == "secret":
            if call.args and isinstance(call.args[0], nodes.Const):
                secrets.add(str(call.args[0].value))
            else:
                secrets.add("")  # a computed name: cannot be checked, so it is refused
    return frozenset(artifacts), frozenset(secrets)


def expression_references(text: str):
    """(artifacts, secrets) an expression references, from its one cached compilation."""
    compiled = compiled_expression(text)
    return compiled.artifacts, compiled.secrets


def template_references(text: str):
    compiled = compiled_template(text)
    return compiled.artifacts, compiled.secrets
