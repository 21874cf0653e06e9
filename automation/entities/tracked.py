"""The model side of the one write door: tracked models, and the link rows of their tracked relations.

A tracked model's `save()`/`delete()` enter the mutation service when called from outside it; its
queryset refuses bulk writes. A link row (the through model of a tracked many-to-many) is part of its
owner's tracked state, so it is written only inside the owner's mutation: related-manager add, remove,
clear and set write through the link model's default manager, which refuses them anywhere else.

This module imports no model of the engine: the models package is built on it. The mutation service
(which writes the change log's models) is registered here at start-up (automation/apps.py) rather than
imported, so the two modules do not import each other.
"""

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import models

# (kind, entity id) pairs whose mutation is in progress in this context: a tracked save() made by the
# write itself must not open a second, nested mutation of the same entity.
_in_progress: ContextVar[frozenset] = ContextVar("checkstack_mutations", default=frozenset())


# entity_mutate, registered by automation/apps.py.
_door: list = []


def register_mutation_door(entity_mutate) -> None:
    _door[:] = [entity_mutate]


def _entity_mutate(**kwargs):
    return _door[0](**kwargs)


class UntrackedWriteError(Exception):
    """A write that would bypass the entity-mutation service (queryset update, bulk write, raw delete)."""


@contextmanager
def mutating(kind: str, entity_id: str):
    """Mark this entity's mutation as in progress for the block."""
    token = _in_progress.set(_in_progress.get() | {(kind, entity_id)})
    try:
        yield
    finally:
        _in_progress.reset(token)


def is_mutating(kind: str, entity_id: Any) -> bool:
    """Whether a mutation of this entity is in progress here (its own writes may save directly)."""
    return (kind, str(entity_id)) in _in_progress.get()


def mutating_ids(kind: str) -> frozenset[str]:
    """Ids of the entities of `kind` whose mutation is in progress here."""
    return frozenset(entity_id for k, entity_id in _in_progress.get() if k == kind)


class TrackedQuerySet(models.QuerySet):
    """Refuses writes that would bypass the mutation service."""

    def _refuse(self, what: str):
        raise UntrackedWriteError(
            f"{what} on {self.model.__name__} would bypass the change log; "
            "change each object through its service (or obj.save()/obj.delete())."
        )

    def update(self, **kwargs):
        self._refuse("QuerySet.update()")

    def bulk_create(self, *args, **kwargs):
        self._refuse("bulk_create()")

    def bulk_update(self, *args, **kwargs):
        self._refuse("bulk_update()")

    def delete(self):
        self._refuse("QuerySet.delete()")

    delete.queryset_only = True

    def _raw_delete(self, using):
        self._refuse("a cascading delete")


class TrackedModel(models.Model):
    """A model whose `save()`/`delete()` enter the mutation service when called from outside it."""

    entity_kind_name: str = ""

    objects = TrackedQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if is_mutating(self.entity_kind_name, self.pk):
            return super().save(*args, **kwargs)

        def write(_current):
            super(TrackedModel, self).save(*args, **kwargs)
            return self

        _entity_mutate(kind=self.entity_kind_name, entity_id=self.pk, write=write)

    save.alters_data = True

    def delete(self, *args, **kwargs):
        if is_mutating(self.entity_kind_name, self.pk):
            return super().delete(*args, **kwargs)
        result = {}

        def write(_current):
            result["deleted"] = super(TrackedModel, self).delete(*args, **kwargs)
            return None

        _entity_mutate(kind=self.entity_kind_name, entity_id=self.pk, write=write, deleting=True)
        return result.get("deleted")

    delete.alters_data = True
