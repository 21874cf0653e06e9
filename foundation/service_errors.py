"""Errors a service raises that carry their HTTP meaning, so the one API exception handler
(`foundation.api_errors`) maps every app's errors without importing any app: apps subclass these."""


class ServiceConflict(Exception):
    """The state the caller acted on changed or forbids the write: 409 with the message and `fields()`."""

    def fields(self) -> dict:
        """What the 409 body carries besides `detail` (e.g. the current version), for the client to recover."""
        return {}


class ServiceInvalid(Exception):
    """The input cannot be saved: 400 `{errors: [{path, message}]}`."""

    def __init__(self, errors: list[dict]):
        super().__init__("; ".join(f"{e['path']}: {e['message']}" for e in errors))
        self.errors = errors
