"""Budgets for what an expression or template may compute: each bound is checked before the work is done,
so a hit costs microseconds, and every evaluation has a deadline that its loops and operators check."""

import re
import time
from collections.abc import Mapping

from jinja2 import nodes

MAX_SOURCE = 50_000  # characters of one expression or template
MAX_DEPTH = 100  # nesting of the parsed tree
MAX_SIZE = 1_000_000  # characters (or items) a string or collection built by an expression may hold
MAX_INT_BITS = 4096  # an integer result, about 1,233 digits
MAX_WIDTH = 10_000  # a width or precision in a format specification
MAX_LOOP_ITERATIONS = 100_000  # across all loops of one evaluation, nested or not
MAX_SECONDS = 0.5  # of one evaluation, checked by every loop iteration, bounded operator, filter and test
MAX_PRODUCED = MAX_SIZE  # characters one template evaluation may output in all, captured blocks included

_STATE = "_checkstack_budget"  # the per-evaluation counters, kept on the render's EvalContext


class BudgetExceeded(Exception):
    """An expression or template asked for more than its budget; the message says which bound."""

    def __init__(self, what: str):
        super().__init__(f"expression too large: {what}")


def measure(value, limit: int = MAX_SIZE) -> int:
    """Size of `value` in characters or items, counted only until it passes `limit` (so it stays cheap)."""
    total, pending = 0, [value]
    while pending and total <= limit:
        item = pending.pop()
        if isinstance(item, (str, bytes)):
            total += len(item)
        elif isinstance(item, bool) or item is None:
            total += 1
        elif isinstance(item, int):
            total += 1 + item.bit_length() // 3
        elif isinstance(item, Mapping):
            total += 1
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += 1
            pending.extend(item)
        else:
            total += 1
    return total


def check_size(value, what: str) -> None:
    if measure(value) > MAX_SIZE:
        raise BudgetExceeded(f"{what} exceeds {MAX_SIZE} characters or items")


def _check_int(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise BudgetExceeded(f"an integer of about {bits} bits exceeds {MAX_INT_BITS} bits")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_binop(operator: str, left, right) -> None:
    """Refuse `left <operator> right` when its result would exceed a budget; computes nothing."""
    if operator == "**" and _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1:
        if right > MAX_INT_BITS:
            raise BudgetExceeded(f"exponent {right} exceeds {MAX_INT_BITS}")
        _check_int(right * abs(left).bit_length())
    elif operator == "*":
        if _is_int(left) and _is_int(right):
            _check_int(abs(left).bit_length() + abs(right).bit_length())
        elif isinstance(left, (str, bytes, list, tuple)) and isinstance(right, int):
            _check_repeat(left, right)
        elif isinstance(right, (str, bytes, list, tuple)) and isinstance(left, int):
            _check_repeat(right, left)
    elif operator == "+" and isinstance(left, (str, bytes, list, tuple)) and isinstance(right, type(left)):
        if measure(left) + measure(right) > MAX_SIZE:
            raise BudgetExceeded(f"a concatenation exceeds {MAX_SIZE} characters or items")
    elif operator == "%" and isinstance(left, str):
        check_printf(left, right)


def _check_repeat(sequence, times: int) -> None:
    if times > 0 and measure(sequence) * times > MAX_SIZE:
        raise BudgetExceeded(f"repeating {type(sequence).__name__} {times} times exceeds {MAX_SIZE} "
                             "characters or items")


# A printf conversion: its width and precision are what can make a short format allocate gigabytes.
_PRINTF = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d*))?[hlL]?(.)", re.DOTALL)


def check_printf(fmt: str, args) -> None:
    for match in _PRINTF.finditer(fmt):
        for number in (match.group(1), match.group(2)):
            if number == "*":
                raise BudgetExceeded("a '*' width in a format is not allowed")
            if number and int(number) > MAX_WIDTH:
                raise BudgetExceeded(f"a format width of {number} exceeds {MAX_WIDTH}")
    check_size(args, "the values formatted")


_SPEC_NUMBERS = re.compile(r"\d+")


def check_format_spec(spec: str) -> None:
    """A `str.format` field's spec, after nested fields are filled in: no width or precision past the cap."""
    for number in _SPEC_NUMBERS.findall(spec):
        if int(number) > MAX_WIDTH:
            raise BudgetExceeded(f"a format width of {number} exceeds {MAX_WIDTH}")


def check_replace(text, old, new, count=-1) -> None:
    found = text.count(old) if old else len(text) + 1
    if count is not None and int(count) >= 0:
        found = min(found, int(count))
    if len(text) + found * (len(new) - len(old)) > MAX_SIZE:
        raise BudgetExceeded(f"replace() would build more than {MAX_SIZE} characters")


_PADDING = {"center", "ljust", "rjust", "zfill"}
_STRING_METHODS = _PADDING | {"expandtabs", "replace", "join", "translate"}


def check_call(func, args: tuple) -> tuple:
    """Refuse a call of a string method that would build past the budget; returns the arguments to call with
    (an iterable given to `join` is read once here, so it is passed on as a list)."""
    owner, name = getattr(func, "__self__", None), getattr(func, "__name__", None)
    if not isinstance(owner, (str, bytes)) or name not in _STRING_METHODS or not args:
        return args
    if name in _PADDING and int(args[0]) > MAX_SIZE:
        raise BudgetExceeded(f"{name}({args[0]}) exceeds {MAX_SIZE} characters")
    tab = b"\t" if isinstance(owner, bytes) else "\t"
    if name == "expandtabs" and len(owner) + owner.count(tab) * int(args[0]) > MAX_SIZE:
        raise BudgetExceeded(f"expandtabs() would build more than {MAX_SIZE} characters")
    if name == "replace" and len(args) >= 2:
        check_replace(owner, args[0], args[1], args[2] if len(args) > 2 else -1)
    if name == "join":
        items = list(args[0])
        if measure(items) + len(owner) * len(items) > MAX_SIZE:
            raise BudgetExceeded(f"join() would build more than {MAX_SIZE} characters")
        return (items, *args[1:])
    if name == "translate" and isinstance(args[0], Mapping):
        longest = max((measure(value) for value in args[0].values()), default=1)
        if len(owner) * longest > MAX_SIZE:
            raise BudgetExceeded(f"translate() would build more than {MAX_SIZE} characters")
    return args


# --- the per-evaluation clock and loop counter -------------------------------------------------------

class _State:
    __slots__ = ("started", "iterations", "produced", "seconds")

    def __init__(self):
        self.started, self.iterations, self.produced = time.monotonic(), 0, 0
        self.seconds = deadline_seconds()


def deadline_seconds() -> float:
    """MAX_SECONDS, unless settings raise it (CHECKSTACK_EXPRESSION_SECONDS: only the integration test of the
    tasks' time limits does, to have an evaluation outlast its task)."""
    from django.conf import settings

    return getattr(settings, "CHECKSTACK_EXPRESSION_SECONDS", MAX_SECONDS) if settings.configured else MAX_SECONDS


def _state(context) -> _State:
    eval_ctx = context.eval_ctx
    state = getattr(eval_ctx, _STATE, None)
    if state is None:
        state = _State()
        setattr(eval_ctx, _STATE, state)
    return state


def tick(context, iterations: int = 0) -> None:
    """Count loop iterations and check the deadline; called by loops, bounded operators and filters."""
    state = _state(context)
    state.iterations += iterations
    if state.iterations > MAX_LOOP_ITERATIONS:
        raise BudgetExceeded(f"loops ran more than {MAX_LOOP_ITERATIONS} iterations")
    if time.monotonic() - state.started > state.seconds:
        raise BudgetExceeded(f"evaluation ran longer than {state.seconds} seconds")


def count_output(context, size: int) -> None:
    """Count output of one evaluation, printed or captured, against MAX_PRODUCED."""
    state = _state(context)
    state.produced += size
    if state.produced > MAX_PRODUCED:
        raise BudgetExceeded(f"the template produced more than {MAX_PRODUCED} characters")


def counted(context, iterable):
    """Iterate `iterable`, each item counting against the evaluation's loop budget."""
    for item in iterable:
        tick(context, 1)
        yield item


# --- the parsed tree -----------------------------------------------------------------------------------

def check_source(source: str) -> None:
    if len(source) > MAX_SOURCE:
        raise BudgetExceeded(f"{len(source)} characters exceed {MAX_SOURCE}")


def check_tree(tree: nodes.Node) -> None:
    """Refuse a tree nested past MAX_DEPTH or folding a constant past a budget; iterative, never recursion."""
    pending = [(tree, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise BudgetExceeded(f"nested more than {MAX_DEPTH} deep")
        if isinstance(node, nodes.BinExpr) and isinstance(node.left, nodes.Const) \
                and isinstance(node.right, nodes.Const):
            check_binop(node.operator, node.left.value, node.right.value)
        pending.extend((child, depth + 1) for child in node.iter_child_nodes())
