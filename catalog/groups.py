"""Writes of groups and of which group a system is in, each through the entity-mutation service."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from automation.entities.mutation import entity_mutate

from .models import Group, System

GROUP_FIELDS = frozenset({"name", "description", "position"})
GROUP_NAME_TAKEN = "A group with this name already exists."


def _save(group: Group, **kwargs) -> None:
    """Save; the unique name is the only constraint a checked write can break (a concurrent request took it)."""
    try:
        group.save(**kwargs)
    except IntegrityError as exc:  # the mutation's transaction rolls back whole as this propagates
        raise ValidationError({"name": [GROUP_NAME_TAKEN]}) from exc


def group_create(*, name: str, description: str = "", position: int = 0, actor: str) -> Group:
    group = Group(name=name, description=description, position=position)

    def write(_current):
        _save(group, force_insert=True)
        return group

    entity_mutate(kind="group", entity_id=group.pk, write=write, actor=actor)
    return group


def group_update(*, group: Group, actor: str, **fields) -> Group:
    """Set the given fields (name, description, position) on the locked row; `group` follows."""
    if unknown := set(fields) - GROUP_FIELDS:
        raise TypeError(f"group_update() got unknown fields: {', '.join(sorted(unknown))}")

    def write(current: Group | None):
        if current is None:
            raise Group.DoesNotExist(f"group {group.pk} no longer exists")
        for name, value in fields.items():
            setattr(current, name, value)
        _save(current, update_fields=[*fields, "updated_at"])
        return current

    updated, _event = entity_mutate(kind="group", entity_id=group.pk, write=write, actor=actor)
    for name in (*GROUP_FIELDS, "updated_at"):
        setattr(group, name, getattr(updated, name))
    return group


@transaction.atomic
def group_delete(*, group: Group, actor: str) -> None:
    """Delete a group; its systems stay, ungrouped (each a tracked change of its `group_id`)."""
    from .services import system_update

    def write(current: Group | None):
        if current is None:
            return None
        # The group row is locked (FOR UPDATE) from here: a concurrent assignment to it waits, then fails.
        for system in System.objects.filter(group_id=current.pk).order_by("pk"):
            system_update(system=system, group_id=None, actor=actor)
        current.delete()
        return None

    entity_mutate(kind="group", entity_id=group.pk, write=write, actor=actor)


def lock_group(group_id) -> Group | None:
    """The group, its row locked against deletion until the transaction ends; None if it does not exist.

    FOR NO KEY UPDATE: conflicts with group_delete's lock, so a system is never assigned to a group being
    deleted (the assignment waits, then finds it gone).
    """
    if group_id is None:
        return None
    group = Group.objects.select_for_update(no_key=True).filter(pk=group_id).first()
    if group is None:
        raise ValidationError({"group_id": [f"Unknown group id: {group_id}."]})
    return group


def group_set_systems(*, group: Group, system_ids, actor: str) -> None:
    """Make `system_ids` exactly the systems of `group` (the admin's group page): each move is tracked."""
    from .services import system_update

    wanted = {str(pk) for pk in system_ids}
    with transaction.atomic():
        lock_group(group.pk)
        current = {str(pk) for pk in System.objects.filter(group_id=group.pk).values_list("pk", flat=True)}
        for system in System.objects.filter(pk__in=wanted | current).order_by("pk"):
            if str(system.pk) in wanted and system.group_id != group.pk:
                system_update(system=system, group_id=group.pk, actor=actor)
            elif str(system.pk) not in wanted:
                system_update(system=system, group_id=None, actor=actor)
