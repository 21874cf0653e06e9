"""Values fitted to their varchar columns: user input (payloads, expressions, error messages) reaches them,
and PostgreSQL refuses a value too long for its column where SQLite would store it."""

import hashlib

HASH_PREFIX = "sha256:"


def max_length(model, field: str) -> int | None:
    return model._meta.get_field(field).max_length


def fit_text(model, field: str, value: str) -> str:
    """A message cut to the column (with an ellipsis): for reasons and errors, read by people."""
    limit = max_length(model, field)
    if limit is None or len(value) <= limit:
        return value
    return value[: limit - 1] + "…"


def fit_key(model, field: str, value: str) -> str:
    """A key kept distinct within the column: longer values become `sha256:<hex>` (cut to the column), so two
    long keys that differ stay two keys, and the same long key always maps to the same stored one."""
    limit = max_length(model, field)
    if limit is None or len(value) <= limit:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return (HASH_PREFIX + digest)[:limit]
