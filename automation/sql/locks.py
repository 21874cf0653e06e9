"""Named locks that guard no row: PostgreSQL transaction-level advisory locks, released at commit or rollback.

Apps pass a name; the key is derived here, so no caller writes SQL. Elsewhere (SQLite) writers are serialised
by the database itself and these are no-ops.
"""

import hashlib

from django.db import connection

from .transactions import execute


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for `name` (the same in every process)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def advisory_lock(name: str, *, shared: bool = False) -> None:
    """Hold the lock called `name` until the transaction ends; `shared` ones exclude only the exclusive one."""
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        execute(cursor, f"SELECT {function}(%s)", [advisory_key(name)])
