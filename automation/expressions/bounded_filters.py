"""Jinja's filters behind the budgets: each checks the deadline, and those that can make a small input into a
huge output check the size they would build first. Every wrapper takes the context, which also keeps Jinja
from running them on constants while it compiles (a context filter cannot be folded)."""

from jinja2 import pass_context
from jinja2.filters import make_attrgetter
from jinja2.utils import _PassArg

from .budgets import (
    MAX_LOOP_ITERATIONS,
    MAX_SIZE,
    BudgetExceeded,
    check_printf,
    check_replace,
    check_size,
    measure,
    tick,
)
from .costs import DROPPED_FILTERS, FILTER_COSTS, bounded_input, check_test

# Filters that turn any value into a string (str(), JSON, repr): a container must be measured first, since a
# list literal naming one big string 10,000 times is small to write and huge to print.
_STRINGIFYING = {"string", "tojson", "json", "pprint", "lower", "upper", "title", "capitalize", "trim",
                 "striptags", "truncate", "wordcount", "escape", "e", "forceescape", "urlencode", "xmlattr",
                 "center", "indent", "wordwrap", "replace", "format", "urlize"}


def _too_large(what: str):
    return BudgetExceeded(f"{what} would exceed {MAX_SIZE} characters or items")


def _center(value, width=80, *args, **kwargs):
    if int(width) > MAX_SIZE:
        raise _too_large(f"center({width})")


def _indent(value, width=4, *args, **kwargs):
    prefix = width if isinstance(width, str) else " " * min(int(width), MAX_SIZE + 1)
    text = str(value)
    if len(text) + (text.count("\n") + 1) * len(prefix) > MAX_SIZE:
        raise _too_large("indent")


def _wordwrap(value, width=79, break_long_words=True, wrapstring=None, *args, **kwargs):
    # Each break inserts `wrapstring`; there are fewer breaks than characters.
    if wrapstring is not None and len(str(value)) * len(str(wrapstring)) > MAX_SIZE:
        raise _too_large("wordwrap")


def _replace(value, old, new, count=None):
    check_replace(str(value), str(old), str(new), count)


def _format(value, *args, **kwargs):
    check_printf(str(value), kwargs or args)


def _batch(value, linecount, fill_with=None):
    if int(linecount) > MAX_SIZE:
        raise _too_large(f"batch({linecount})")


def _slice(value, slices, fill_with=None):
    if int(slices) > MAX_LOOP_ITERATIONS:  # slice() loops once per slice
        raise _too_large(f"slice({slices})")


_CHECKS = {"center": _center, "indent": _indent, "wordwrap": _wordwrap, "replace": _replace,
           "format": _format, "batch": _batch, "slice": _slice}


def _lead(pass_arg, context):
    if pass_arg is _PassArg.context:
        return (context,)
    if pass_arg is _PassArg.eval_context:
        return (context.eval_ctx,)
    if pass_arg is _PassArg.environment:
        return (context.environment,)
    return ()


def bounded(name: str, func):
    """`func` (a filter) behind the deadline, the size of what it stringifies, and its own check if any."""
    pass_arg = _PassArg.from_obj(func)
    check = _CHECKS.get(name)
    stringifies = name in _STRINGIFYING

    @pass_context
    def wrapper(context, value, *args, **kwargs):
        tick(context)
        value = bounded_input(name, value)
        if stringifies and not isinstance(value, str):
            check_size(value, f"the value given to {name}")
        if check is not None:
            check(value, *args, **kwargs)
        return func(*_lead(pass_arg, context), value, *args, **kwargs)

    wrapper.__name__ = getattr(func, "__name__", name)
    return wrapper


@pass_context
def join(context, value, d="", attribute=None):
    """`join`, refusing before it builds a string past the budget."""
    tick(context)
    items = list(bounded_input("join", value))
    if attribute is not None:
        items = list(map(make_attrgetter(context.environment, attribute), items))
    if measure(items) + len(str(d)) * len(items) > MAX_SIZE:
        raise _too_large("join")
    return str(d).join(map(str, items))


@pass_context
def sum_(context, iterable, attribute=None, start=0):
    """`sum`; sequences are joined in one pass (the builtin's repeated `+` is quadratic) and measured first."""
    tick(context)
    items = list(bounded_input("sum", iterable))
    if attribute is not None:
        items = list(map(make_attrgetter(context.environment, attribute), items))
    if isinstance(start, (list, tuple)) and all(isinstance(item, type(start)) for item in items):
        if measure(start) + measure(items) > MAX_SIZE:
            raise _too_large("sum")
        return type(start)(value for part in (start, *items) for value in part)
    return sum(items, start)


def bounded_filters(filters: dict) -> dict:
    """Every declared filter behind its budget; an undeclared one (a new Jinja release's) is left out."""
    wrapped = {name: bounded(name, func) for name, func in filters.items()
               if name in FILTER_COSTS and name not in DROPPED_FILTERS}
    wrapped.update(join=join, sum=sum_)
    return wrapped


def bounded_test(name: str, func):
    """`func` (a Jinja test) behind the deadline and its input cap: `select`/`reject` call it per item, and
    `x is in y` reads all of `y`."""
    pass_arg = _PassArg.from_obj(func)

    @pass_context
    def wrapper(context, value, *args, **kwargs):
        tick(context)
        check_test(name, args)
        return func(*_lead(pass_arg, context), value, *args, **kwargs)

    wrapper.__name__ = getattr(func, "__name__", name)
    return wrapper


def bounded_tests(tests: dict) -> dict:
    return {name: bounded_test(name, func) for name, func in tests.items()}
