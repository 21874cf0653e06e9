"""Which database errors are transient: worth retrying as they are, never a sign of a bad value."""

from django.db import InterfaceError, OperationalError

# deadlock_detected, serialization_failure: the same work succeeds when tried again.
TRANSIENT_SQLSTATES = {"40P01", "40001"}


def is_transient(exc: BaseException) -> bool:
    """A lost connection, a deadlock or a serialization failure: Django's wrapper or psycopg's own error,
    here or anywhere down the chain of causes (a gate's failure wraps what it raised)."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, (OperationalError, InterfaceError)):
            return True
        if getattr(exc, "sqlstate", None) in TRANSIENT_SQLSTATES:
            return True
        exc, seen = exc.__cause__, seen + 1
    return False
