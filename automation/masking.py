"""Masking of resolved secret values: whatever a run resolved becomes *** wherever it would persist.

Kept free of model imports so logging configuration can load the filter before apps are ready.
"""

import logging
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

MASK = "***"
_resolved: ContextVar[frozenset] = ContextVar("checkstack_secret_values", default=frozenset())


def remember_secret_value(value: str) -> None:
    """Mask `value` in this context from now on."""
    if value:
        _resolved.set(_resolved.get() | {value})


@contextmanager
def masking_scope():
    """Values resolved inside the block are masked inside it and forgotten after it."""
    token = _resolved.set(frozenset())
    try:
        yield
    finally:
        _resolved.reset(token)


def mask(value: Any) -> Any:
    """`value` with every resolved secret replaced by ***, recursively through lists and dicts."""
    secrets = _resolved.get()
    if not secrets:
        return value
    return _mask(value, sorted(secrets, key=len, reverse=True))


def _mask(value, secrets):
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, MASK)
        return value
    if isinstance(value, dict):
        return {_mask(k, secrets): _mask(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mask(v, secrets) for v in value]
    return value


class SecretMaskingFilter(logging.Filter):
    """Mask resolved secrets in every log record of this context, traceback included."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _resolved.get():
            return True
        record.msg = mask(record.getMessage())
        record.args = ()
        if record.exc_info:
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
