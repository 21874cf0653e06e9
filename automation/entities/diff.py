"""Pure diffing of entity states: which top-level fields changed, and their next values."""

from typing import Any


def _canonical(value: Any) -> Any:
    """Make dicts compare by content regardless of key order; lists keep their order."""
    if isinstance(value, dict):
        return {key: _canonical(value[key]) for key in sorted(value)}
    if isinstance(value, (list, tuple)):
        return [_canonical(item) for item in value]
    return value


def diff_states(prev: dict | None, next_: dict | None) -> tuple[list[str], dict[str, Any]]:
    """Return (sorted changed fields, delta of their next values; a dropped field is None).

    A tombstone (`next_` is None) has every previous field changed and an empty delta.
    """
    if next_ is None:
        return (sorted(prev or {}), {})
    prev = prev or {}
    changed = [
        key
        for key in set(prev) | set(next_)
        if key not in prev or key not in next_ or _canonical(prev[key]) != _canonical(next_[key])
    ]
    changed.sort()
    return changed, {key: next_.get(key) for key in changed}
