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


class ActorMiddleware:
    """Attribute a request's implicit writes (admin saves) to its authenticated user."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        with acting_as(user_actor(user)):
            return self.get_response(request)
