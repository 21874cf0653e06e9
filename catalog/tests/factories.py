"""Test set-up for catalog: through the real services, never raw saves of tracked models."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from automation.models import ChangeEvent, Transition
from catalog.models import System
from catalog.services import system_create

ACTOR = "user:tester"


def make_system(name: str = "api", **kwargs) -> System:
    return system_create(name=name, actor=ACTOR, **kwargs)


def make_user(username: str, *perms: str):
    """A staff user holding exactly `perms` ("app_label.codename")."""
    user = get_user_model().objects.create_user(username, is_staff=True)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


def api_as(username: str, *perms: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(make_user(username, *perms))
    return client


def change_events(entity_id, kind: str | None = None) -> list[ChangeEvent]:
    """The entity's change events, oldest first."""
    events = ChangeEvent.objects.filter(entity_id=str(entity_id)).order_by("id")
    return list(events.filter(kind=kind) if kind else events)


def transition_rows(entity_id) -> list[tuple]:
    """(kind, field, from_value, to_value, actor) of the entity's transitions, oldest first."""
    return list(
        Transition.objects.filter(entity_id=str(entity_id))
        .order_by("id")
        .values_list("kind", "field", "from_value", "to_value", "actor")
    )


def log_size() -> tuple[int, int]:
    """(transitions, change events) written so far: compare before and after to prove nothing was."""
    return Transition.objects.count(), ChangeEvent.objects.count()
