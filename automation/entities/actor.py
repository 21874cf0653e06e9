"""Who is acting: the actor string every transition and change event carries, and its causal depth."""

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class Acting:
    actor: str = SYSTEM_ACTOR
    # How many automation hops led to this write (the loop guard reads it).
    depth: int = 0


_acting: ContextVar[Acting] = ContextVar("checkstack_acting", default=Acting())  # noqa: B039 - frozen dataclass


def user_actor(user) -> str:
    """Actor string of a Django user."""
    return f"user:{user.get_username()}"


def run_actor(run_id) -> str:
    """Actor string of an automation run."""
    return f"run:{run_id}"


def current_acting() -> Acting:
    """The actor and depth that implicit writes (a bare `save()`) are attributed to."""
    return _acting.get()


@contextmanager
def acting_as(actor: str, *, depth: int = 0):
    """Attribute implicit writes inside the block to `actor`."""
    token = _acting.set(Acting(actor=actor, depth=depth))
    try:
        yield
    finally:
        _acting.reset(token)


class _RequestActing:
    """A request's Acting, resolved on its first read: the user is looked up only when the request writes.

    Reading `request.user` loads the session, and SessionMiddleware then adds `Vary: Cookie` to the response:
    the public status pages, which never write, would differ per visitor for every shared cache.
    """

    def __init__(self, request, outer: Acting):
        self._request, self._outer, self._resolved = request, outer, None

    def _resolve(self) -> Acting:
        if self._resolved is None:
            user = getattr(self._request, "user", None)
            authenticated = user is not None and user.is_authenticated
            self._resolved = Acting(actor=user_actor(user)) if authenticated else self._outer
        return self._resolved

    @property
    def actor(self) -> str:
        return self._resolve().actor

    @property
    def depth(self) -> int:
        return self._resolve().depth


class ActorMiddleware:
    """Attribute a request's implicit writes (admin saves) to its authenticated user, looked up lazily."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _acting.set(_RequestActing(request, _acting.get()))
        try:
            return self.get_response(request)
        finally:
            _acting.reset(token)
