"""The Jinja2 sandbox expressions and templates run in: no Python internals, and budgets (see budgets.py)."""

import json
from collections.abc import Mapping
from datetime import UTC, datetime

from django.utils import timezone
from jinja2 import ChainableUndefined, nodes, pass_context
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from jinja2.visitor import NodeTransformer

from .bounded_filters import bounded_filters, bounded_tests
from .budgets import (
    MAX_SIZE,
    BudgetExceeded,
    check_binop,
    check_call,
    check_format_spec,
    check_size,
    check_source,
    check_tree,
    count_output,
    counted,
    measure,
    tick,
)
from .costs import check_method, method_allowed

MAX_OUTPUT = 64 * 1024  # characters a template may render, and a captured block may hold
MAX_RANGE = 10_000  # items range() may produce
READS_KEY = "__checkstack_reads__"  # the scope's EntityReads, for filters that depend on time


def _capped_range(*args):
    values = range(*args)
    if len(values) > MAX_RANGE:
        raise OverflowError(f"range() of {len(values)} items exceeds the limit of {MAX_RANGE}")
    return values


def as_datetime(value) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _now(context) -> datetime:
    reads = context.get(READS_KEY)
    if reads is not None:
        reads.time_dependent = True
    return context.get("now") or timezone.now()


@pass_context
def duration_since(context, value) -> float | None:
    """Seconds from `value` (a datetime or ISO string) until now."""
    moment = as_datetime(value)
    return None if moment is None else (_now(context) - moment).total_seconds()


@pass_context
def older_than(context, value, seconds) -> bool:
    """Whether `value` lies more than `seconds` in the past."""
    elapsed = duration_since(context, value)
    return elapsed is not None and elapsed > float(seconds)


def iso(value) -> str | None:
    moment = as_datetime(value)
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _json(value) -> str:
    return json.dumps(value, default=str, sort_keys=True)


@pass_context
def _finalize(context, value):
    """Every `{{ }}` output, printed or captured: measured before it is turned into a string, and counted
    against what one evaluation may produce in all (a loop inside `{% set %}` builds its pieces before the
    block is joined)."""
    tick(context)
    if isinstance(value, str):
        count_output(context, len(value))
    else:
        check_size(value, "an output")
        count_output(context, measure(value))
    return value


def _bounded_concat(pieces) -> str:
    """Join a captured block (`{% set %}…{% endset %}`, a macro's or call block's body, `{% filter %}`):
    Jinja collects these in a list and joins it at the end, so the join is refused before it is built."""
    pieces = list(pieces)
    if sum(map(len, pieces)) > MAX_OUTPUT:
        raise BudgetExceeded(f"a captured block ({{% set %}}, a macro, {{% filter %}} or a call block) "
                             f"exceeds {MAX_OUTPUT} characters")
    return "".join(pieces)


@pass_context
def _concat(context, *values):
    """The `~` operator: measured before it joins."""
    tick(context)
    if sum(len(value) if isinstance(value, str) else measure(value) for value in values) > MAX_SIZE:
        raise BudgetExceeded(f"a concatenation exceeds {MAX_SIZE} characters")
    return "".join(map(str, values))


class _BudgetNodes(NodeTransformer):
    """Route every loop's iterable and every `~` through the budget; the generated code then calls them."""

    def visit_For(self, node):
        self.generic_visit(node)
        node.iter = self._call("budget_loop", [node.iter], node)
        return node

    def visit_Concat(self, node):
        self.generic_visit(node)
        return self._call("budget_concat", node.nodes, node)

    @staticmethod
    def _call(name, args, node):
        call = nodes.Call(nodes.EnvironmentAttribute(name, lineno=node.lineno), list(args), [], None, None,
                          lineno=node.lineno)
        call.set_environment(node.environment)
        return call


class _BoundedFormatter(SandboxedFormatter):
    def get_field(self, field_name, args, kwargs):
        value, first = super().get_field(field_name, args, kwargs)
        check_size(value, "a value formatted")
        return value, first

    def format_field(self, value, format_spec):
        check_format_spec(format_spec)
        return super().format_field(value, format_spec)


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox with budgets: arithmetic and repetition that could build huge values are intercepted (an
    intercepted operator is also never folded while compiling), loops are counted, and parsed trees measured."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options):
        super().__init__(finalize=_finalize, **options)
        self.budget_loop = pass_context(counted)
        self.budget_concat = _concat
        self.concat = _bounded_concat  # the generated code's `concat` for every captured block

    def call_binop(self, context, operator, left, right):
        tick(context)
        check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context, __obj, *args, **kwargs):  # Jinja's own spelling, see its call()
        tick(__context)
        if isinstance(__obj, LoopContext) and args:  # a recursive loop's next level
            args = (counted(__context, args[0]), *args[1:])
        owner, name = getattr(__obj, "__self__", None), getattr(__obj, "__name__", "")
        if method_allowed(owner, name) is not None:
            check_method(owner, name, args, kwargs)
        args = check_call(__obj, args)
        return super().call(__context, __obj, *args, **kwargs)

    def is_safe_attribute(self, obj, attr, value):
        # A method of a value type is available only when costs.py declares it (str.encode to IDNA,
        # int.to_bytes of a gigabyte, ... are not); data attributes and other types as the sandbox decides.
        if callable(value) and method_allowed(obj, attr) is False:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def getattr(self, obj, attribute):
        # A mapping's key wins over its methods: `payload.items` is the key "items" when there is one.
        if isinstance(obj, Mapping):
            try:
                if attribute in obj:
                    return obj[attribute]
            except TypeError:
                pass
        return super().getattr(obj, attribute)

    def wrap_str_format(self, value):
        wrapped = super().wrap_str_format(value)
        if wrapped is None or not isinstance(value.__self__, str) or type(value.__self__) is not str:
            return wrapped
        formatter, text = _BoundedFormatter(self), value.__self__
        if value.__name__ == "format_map":
            return lambda mapping: formatter.vformat(text, (), mapping)
        return lambda *args, **kwargs: formatter.vformat(text, args, kwargs)

    def compile_expression(self, source, undefined_to_none=True):
        check_source(source)
        return super().compile_expression(source, undefined_to_none)

    def _parse(self, source, name, filename):
        check_source(source)
        tree = super()._parse(source, name, filename)
        check_tree(tree)
        return tree

    def _generate(self, source, name, filename, defer_init=False):
        check_tree(source)
        return super()._generate(_BudgetNodes().visit(source), name, filename, defer_init)


def make_environment() -> ImmutableSandboxedEnvironment:
    env = BoundedEnvironment(undefined=ChainableUndefined, autoescape=False, keep_trailing_newline=True)
    env.globals = {"range": _capped_range, "dict": dict, "lipsum": None, "cycler": None, "joiner": None,
                   "namespace": None}
    env.globals = {k: v for k, v in env.globals.items() if v is not None}
    env.filters.update(
        minutes=lambda n: float(n) * 60,
        hours=lambda n: float(n) * 3600,
        older_than=older_than,
        duration_since=duration_since,
        iso=iso,
        json=_json,
    )
    env.filters = bounded_filters(env.filters)
    env.tests = bounded_tests(env.tests)
    return env


environment = make_environment()
