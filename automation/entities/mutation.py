"""The entity-mutation service: the one door every write of reactive state goes through.

Lock the entity row, snapshot `prev`, run the domain write, diff against `next`, and write the field
transitions plus one change event in the same transaction. After commit, a worker is woken to route it.
"""

import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from typing import Any, Callable

from django.db import models, transaction
from django.utils import timezone

from ..masking import mask
from ..models import ChangeEvent
from ..row_sql import lock_row
from .change_log import write_change
from .actor import current_acting
from .diff import diff_states
from .registry import EntityKind, entity_kind

# (kind, entity id) pairs whose mutation is in progress in this context: a tracked save() made by the
# write itself must not open a second, nested mutation of the same entity.
_in_progress: ContextVar[frozenset] = ContextVar("checkstack_mutations", default=frozenset())


class UntrackedWriteError(Exception):
    """A write that would bypass the entity-mutation service (queryset update, bulk write, raw delete)."""


@contextmanager
def _mutating(kind: str, entity_id: str):
    token = _in_progress.set(_in_progress.get() | {(kind, entity_id)})
    try:
        yield
    finally:
        _in_progress.reset(token)


def is_mutating(kind: str, entity_id: Any) -> bool:
    """Whether a mutation of this entity is in progress here (its own writes may save directly)."""
    return (kind, str(entity_id)) in _in_progress.get()


def entity_mutate(
    *,
    kind: str,
    entity_id: Any,
    write: Callable[[Any], Any],
    actor: str | None = None,
    depth: int | None = None,
) -> tuple[Any, ChangeEvent | None]:
    """Run `write(locked_instance_or_None)` as a tracked change of one entity.

    `write` returns the instance after the write, or None when it deleted it. Returns that result and
    the change event written (None when nothing tracked changed). Joins the caller's transaction.
    """
    spec = entity_kind(kind)
    entity_id = str(entity_id)
    acting = current_acting()
    with transaction.atomic():
        current = lock_row(spec.model, entity_id)
        prev = spec.state(current) if current is not None else None
        with _mutating(kind, entity_id):
            after = write(current)
        next_ = spec.state(after) if after is not None else None
        event = _record_change(
            spec,
            entity_id=entity_id,
            prev=prev,
            next_=next_,
            actor=actor or acting.actor,
            depth=acting.depth if depth is None else depth,
        )
    return after, event


def _record_change(spec: EntityKind, *, entity_id, prev, next_, actor, depth) -> ChangeEvent | None:
    if prev is None and next_ is None:
        return None
    # A secret an automation resolved must not reach the change log through the state it wrote.
    prev, next_ = mask(prev), mask(next_)
    changed, delta = diff_states(prev, next_)
    if not changed:
        return None
    now = timezone.now()
    change_id = uuid.uuid4()
    prev_values = prev or {}
    event = write_change(
        {"change_id": change_id, "kind": spec.kind, "entity_id": entity_id, "prev": prev, "next": next_,
         "delta": delta, "changed_fields": changed, "actor": actor, "depth": depth, "occurred_at": now},
        [
            {"kind": spec.kind, "entity_id": entity_id, "field": name, "from_value": prev_values.get(name),
             "to_value": None if next_ is None else next_.get(name), "at": now, "actor": actor,
             "change_id": change_id}
            for name in changed
        ],
    )
    # Imported here: delivery imports the Celery task module, which imports this one.
    from .delivery import wake_router

    transaction.on_commit(partial(wake_router, str(change_id)), robust=True)
    return event


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

        entity_mutate(kind=self.entity_kind_name, entity_id=self.pk, write=write)

    save.alters_data = True

    def delete(self, *args, **kwargs):
        if is_mutating(self.entity_kind_name, self.pk):
            return super().delete(*args, **kwargs)

        result = {}

        def write(_current):
            result["deleted"] = super(TrackedModel, self).delete(*args, **kwargs)
            return None

        entity_mutate(kind=self.entity_kind_name, entity_id=self.pk, write=write)
        return result.get("deleted")

    delete.alters_data = True
