"""Session store that refuses malformed keys before they reach the database.

A cookie with a NUL byte made PostgreSQL raise on the session lookup (a 500 for any page); keys Django
issues are lowercase letters and digits, so anything else is simply no session.
"""

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key):
        return bool(key) and key.isascii() and key.isalnum() and super()._validate_session_key(key)
