"""Stage 1's index keys: which payloads a trigger's filter can possibly accept, as one string to look up.

A filter of the shapes below (docs/automations-indexing.md) can only be true for a payload that carries one
particular value, so its index row keeps that value as a key and routing reads only the rows whose key the
payload has (`payload_keys`), plus the rows without a key. The contract, checked by a property test: if a
trigger's filter evaluates true on a payload, its key or its index field is among `payload_keys(payload)` —
the index may let through triggers whose filter then misses, never leave out one that would pass. Pure.

Keys: `eq:<field>:<value>` for `trigger.payload.<field> == '<value>'`, `in:<field>:<item>` for
`'<item>' in trigger.payload.<field>`. Jinja's `in` on a string is substring membership, so a payload whose
`<field>` is a string matches every membership key on that field: it yields `in:<field>:*`, which a
membership row stores as its `index_field` (see `index_of`).
"""

from jinja2 import nodes
from jinja2.parser import Parser

from ...expressions.evaluate import _PARSE_ERRORS
from ...expressions.sandbox import environment

MAX_KEY = 255  # the index columns' length: a longer key is not indexed (the trigger is read for every change)
ANY_ITEM = "*"


def index_key_of(expression: str | None) -> str | None:
    """The key a payload must have for `expression` to be true, or None when the filter is not indexable."""
    return index_of(expression)[0]


def index_of(expression: str | None) -> tuple[str | None, str | None]:
    """(index key, index field): the field is `in:<field>:*` for a membership key, else None."""
    if not expression:
        return None, None
    try:
        parser = Parser(environment, expression, state="variable")
        tree = parser.parse_expression()
        if not parser.stream.eos:
            return None, None
    except _PARSE_ERRORS:
        return None, None
    # Equality narrows to one value of a field; prefer it over membership (whose rows a string also reads).
    entries = sorted(_keys(tree), key=lambda entry: entry[1] is not None)
    return next(((key, field) for key, field in entries if len(key) <= MAX_KEY and len(field or "") <= MAX_KEY),
                (None, None))


def payload_keys(payload: dict) -> set[str]:
    """Every key of an indexable filter that can be true on `payload` (a JSON object)."""
    keys = set()
    for field, value in payload.items():
        if not isinstance(field, str):
            continue
        if isinstance(value, str):
            keys.add(f"eq:{field}:{value}")
            keys.add(f"in:{field}:{ANY_ITEM}")  # substring membership: any item may be in it
        elif isinstance(value, list):
            keys.update(f"in:{field}:{item}" for item in value if isinstance(item, str))
        elif isinstance(value, dict):
            keys.update(f"in:{field}:{item}" for item in value if isinstance(item, str))
        elif not isinstance(value, (int, float, bool, type(None))):
            keys.add(f"in:{field}:{ANY_ITEM}")  # not JSON: whatever `in` means on it, read every membership row
    return keys


def _keys(node) -> list[tuple[str, str | None]]:
    """(key, index field) entries, any one of which the expression requires (an `and` requires both sides)."""
    if isinstance(node, nodes.And):
        return _keys(node.left) + _keys(node.right)
    if isinstance(node, nodes.Compare) and len(node.ops) == 1:
        entry = _compare_key(node.expr, node.ops[0].op, node.ops[0].expr)
        return [entry] if entry else []
    return []


def _compare_key(left, op: str, right) -> tuple[str, str | None] | None:
    if op == "eq":
        field, literal = _payload_field(left), _string(right)
        if field is None or literal is None:
            field, literal = _payload_field(right), _string(left)
        return (f"eq:{field}:{literal}", None) if field is not None and literal is not None else None
    if op == "in":
        field, literal = _payload_field(right), _string(left)
        if field is not None and literal is not None:
            return f"in:{field}:{literal}", f"in:{field}:{ANY_ITEM}"
    return None


def _string(node) -> str | None:
    return node.value if isinstance(node, nodes.Const) and type(node.value) is str else None


def _payload_field(node) -> str | None:
    """`<field>` of `trigger.payload.<field>` / `trigger.payload['<field>']` / `trigger['payload'][...]`."""
    name = _member(node)
    if name is None or not _is_payload(node.node):
        return None
    return name


def _is_payload(node) -> bool:
    return _member(node) == "payload" and isinstance(node.node, nodes.Name) and node.node.name == "trigger"


def _member(node) -> str | None:
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node, nodes.Getitem):
        return _string(node.arg)
    return None
