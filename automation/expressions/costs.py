"""What one call of each filter, test and method the sandbox exposes may cost: a cap on the size of its input,
chosen so that a single call at the cap ends well inside the evaluation's deadline (measured on 2 shared cores:
see bench/validation.py). The deadline is checked between calls; these caps bound each call itself, so no single
call can run for seconds. A filter, test or method not declared here is not available.
"""

import codecs
from collections.abc import Iterator, Mapping, Sized
from itertools import islice

from jinja2.exceptions import SecurityError

from .budgets import MAX_SIZE, BudgetExceeded, measure

CHEAP = MAX_SIZE  # one C-level pass over the input: a million characters or items take a few milliseconds
PYTHON_LOOP = 100_000  # a Python-level step per item or word (title, urlencode, unique, map, xmlattr, ...)
SORTING = 50_000  # comparisons through Jinja's attribute getters: n log n Python calls
WRAPPING = 20_000  # textwrap and pprint: many Python steps per character or item
GROUPING = 5_000  # groupby: a sort, then a tuple and a list per group (50,000 items took 3.8 s)
CONSTANT = None  # reads one item or a length: no cap

# The input a filter reads is its first argument; its cap is in characters (strings) or items (collections,
# counted deep for those that walk nested values).
FILTER_COSTS = {
    "abs": CONSTANT, "attr": CONSTANT, "default": CONSTANT, "d": CONSTANT, "first": CONSTANT,
    "float": CHEAP, "int": CHEAP, "length": CONSTANT, "count": CONSTANT, "safe": CONSTANT, "round": CONSTANT,
    "random": CHEAP, "filesizeformat": CONSTANT,
    "capitalize": CHEAP, "center": CHEAP, "escape": CHEAP, "e": CHEAP, "forceescape": CHEAP, "format": CHEAP,
    "join": CHEAP, "last": CHEAP, "list": CHEAP, "lower": CHEAP, "upper": CHEAP, "replace": CHEAP,
    "reverse": CHEAP, "string": CHEAP, "trim": CHEAP, "truncate": CHEAP, "striptags": CHEAP, "sum": CHEAP,
    "max": CHEAP, "min": CHEAP, "batch": CHEAP, "slice": CHEAP, "items": CHEAP,
    "minutes": CONSTANT, "hours": CONSTANT, "older_than": CONSTANT, "duration_since": CONSTANT, "iso": CONSTANT,
    "title": PYTHON_LOOP, "wordcount": PYTHON_LOOP, "urlencode": PYTHON_LOOP, "indent": PYTHON_LOOP,
    "tojson": PYTHON_LOOP, "json": PYTHON_LOOP, "unique": PYTHON_LOOP, "xmlattr": PYTHON_LOOP,
    "map": PYTHON_LOOP, "select": PYTHON_LOOP, "reject": PYTHON_LOOP, "selectattr": PYTHON_LOOP,
    "rejectattr": PYTHON_LOOP,
    "sort": SORTING, "dictsort": SORTING, "groupby": GROUPING,
    "wordwrap": WRAPPING, "pprint": WRAPPING,
}
# Walked deep: these stringify or copy every nested value, so a small list of big strings costs its content.
DEEP = {"string", "tojson", "json", "pprint", "xmlattr", "urlencode", "striptags", "escape", "e", "forceescape",
        "lower", "upper", "title", "capitalize", "trim", "truncate", "wordcount", "center", "indent", "wordwrap",
        "replace", "format"}
# Dropped: `urlize` is quadratic in its input on some texts (a million characters ran for hours) and builds
# HTML nothing here renders; bounding it low enough would make it useless.
DROPPED_FILTERS = {"urlize"}

# Tests: `in` reads its container; the rest look at one value (string case tests read it once, in C).
TEST_CONTAINER_CAP = CHEAP


def _size(value, deep: bool, cap: int) -> int:
    if isinstance(value, (str, bytes)):
        return len(value)
    if deep:
        return measure(value, cap)
    return len(value) if isinstance(value, Sized) else 0


def bounded_input(name: str, value):
    """`value` as filter `name` may read it: refused past the filter's cap; a lazy iterator (the output of
    `map` or `select`) is read into a list, at most one item past the cap, so its size is known."""
    cap = FILTER_COSTS.get(name, CHEAP)
    if cap is None:
        return value
    if isinstance(value, Iterator):
        value = list(islice(value, cap + 1))
    if _size(value, name in DEEP, cap) > cap:
        raise BudgetExceeded(f"{name} reads at most {cap} characters or items")
    return value


def check_test(name: str, args: tuple) -> None:
    if name == "in" and args and isinstance(args[0], Sized) and not isinstance(args[0], (str, bytes)) \
            and len(args[0]) > TEST_CONTAINER_CAP:
        raise BudgetExceeded(f"the test 'in' reads at most {TEST_CONTAINER_CAP} items")


# --- methods -------------------------------------------------------------------------------------------
# Methods of the values a scope holds (JSON values, numbers, dates), by type: the cap is on the receiver's
# size. Anything else (str.encode to IDNA or punycode, int.to_bytes of a gigabyte, ...) is not available.
_STR_METHODS = {
    "capitalize", "casefold", "center", "count", "endswith", "expandtabs", "find", "format", "format_map",
    "index", "isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "islower", "isnumeric", "isspace",
    "istitle", "isupper", "join", "ljust", "lower", "lstrip", "partition", "removeprefix", "removesuffix",
    "replace", "rfind", "rindex", "rjust", "rpartition", "rsplit", "rstrip", "split", "splitlines",
    "startswith", "strip", "swapcase", "title", "translate", "upper", "zfill", "encode",
}
_BYTES_METHODS = (_STR_METHODS - {"encode", "format", "format_map", "casefold", "isdecimal", "isnumeric"}) \
    | {"decode", "hex"}
METHODS = {
    str: _STR_METHODS,
    bytes: _BYTES_METHODS,
    list: {"count", "index", "copy"},
    tuple: {"count", "index"},
    dict: {"get", "items", "keys", "values", "copy"},
    int: {"bit_length", "conjugate", "is_integer"},
    float: {"is_integer", "conjugate", "hex"},
    bool: {"bit_length", "conjugate"},
}
# Codecs str.encode / bytes.decode may use: a single C pass. IDNA and punycode run Python per label or
# character and are quadratic on hostile input.
CODECS = {"utf-8", "ascii", "latin-1", "utf-16", "utf-32"}


def method_allowed(owner, name: str) -> bool | None:
    """Whether `owner.name` may be called; None when `owner` is not a type the table governs."""
    for cls in type(owner).__mro__:
        if cls in METHODS:
            return name in METHODS[cls]
    return None


def check_method(owner, name: str, args: tuple, kwargs: dict) -> None:
    """Refuse a governed method whose input is past its cap, or a codec that is not a single C pass."""
    if name in ("encode", "decode"):
        codec = args[0] if args else kwargs.get("encoding", "utf-8")
        try:
            canonical = codecs.lookup(str(codec)).name
        except LookupError:
            canonical = str(codec)
        if canonical not in {codecs.lookup(c).name for c in CODECS}:
            raise SecurityError(f"{name}() with the codec {codec!r} is not available; allowed: "
                                f"{', '.join(sorted(CODECS))}")
    if isinstance(owner, Mapping) or not isinstance(owner, Sized):
        return
    if len(owner) > MAX_SIZE:
        raise BudgetExceeded(f"{name}() reads at most {MAX_SIZE} characters or items")

