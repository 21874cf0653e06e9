"""Link rows of tracked relations (the through model of a tracked many-to-many): part of their owner's
tracked state, so written only inside the owner's mutation.

Django's related managers write a `through` model with `through._default_manager.bulk_create(...)` (add,
set) and `.filter(...).delete()` (remove, clear, set), from either side of the relation, and a reverse
foreign-key `add()` moves rows with `_base_manager.update()`. Both managers are the queryset below, so
every one of those writes, and a link's own save() and delete(), is checked against the owners whose
mutation is in progress here.
"""

from typing import Iterable

from django.db import models

from .tracked import UntrackedWriteError, mutating_ids


class TrackedLinkQuerySet(models.QuerySet):
    """Writes only link rows whose owners are being mutated here; refuses any other write."""

    def _refuse(self, what: str):
        raise UntrackedWriteError(
            f"{what} on {self.model.__name__} changes the tracked state of its {self.model.owner_kind()} "
            f"outside the mutation service; use {self.model.tracked_by}."
        )

    def _check_ids(self, what: str, owner_ids: Iterable) -> None:
        if not {str(owner_id) for owner_id in owner_ids} <= mutating_ids(self.model.owner_kind()):
            self._refuse(what)

    def _check_rows(self, what: str) -> None:
        allowed = mutating_ids(self.model.owner_kind())
        # One EXISTS query, and none outside a mutation (or for an empty `__in` filter).
        if not allowed or self.exclude(**{f"{self.model.owner_attname()}__in": allowed}).exists():
            self._refuse(what)

    def _new_owner_ids(self, values: dict) -> list:
        field = self.model._meta.get_field(self.model.tracked_owner)
        return [getattr(value, "pk", value) for name, value in values.items() if name in (field.name, field.attname)]

    def update(self, **kwargs):
        self._check_rows("QuerySet.update()")
        self._check_ids("QuerySet.update()", self._new_owner_ids(kwargs))
        return super().update(**kwargs)

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        self._check_ids("bulk_create() (or a related manager's add/set)", self._owner_ids(objs))
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        objs = list(objs)
        self.filter(pk__in=[obj.pk for obj in objs])._check_rows("bulk_update()")
        self._check_ids("bulk_update()", self._owner_ids(objs))
        return super().bulk_update(objs, fields, *args, **kwargs)

    def delete(self):
        self._check_rows("QuerySet.delete() (or a related manager's remove/clear/set)")
        return super().delete()

    delete.queryset_only = True

    def _owner_ids(self, objs: list) -> list:
        return [getattr(obj, self.model.owner_attname()) for obj in objs]


class TrackedLink(models.Model):
    """A link row of a tracked relation; `tracked_owner` names the foreign key to its tracked owner."""

    # The foreign key to the owner (a TrackedModel) whose tracked state lists this link.
    tracked_owner: str = ""
    # The service to name when refusing a write, e.g. "incidents.services.incident_update(system_ids=...)".
    tracked_by: str = ""

    objects = TrackedLinkQuerySet.as_manager()

    class Meta:
        abstract = True
        # A reverse foreign-key add() and the delete collector write through the base manager.
        base_manager_name = "objects"

    def save(self, *args, **kwargs):
        queryset = type(self)._default_manager.all()
        queryset._check_ids("save()", [getattr(self, self.owner_attname())])
        if not self._state.adding:  # a saved link may be moving from another owner
            queryset.filter(pk=self.pk)._check_rows("save()")
        return super().save(*args, **kwargs)

    save.alters_data = True

    def delete(self, *args, **kwargs):
        type(self)._default_manager.all()._check_ids("delete()", [getattr(self, self.owner_attname())])
        return super().delete(*args, **kwargs)

    delete.alters_data = True

    @classmethod
    def owner_kind(cls) -> str:
        return cls._meta.get_field(cls.tracked_owner).related_model.entity_kind_name

    @classmethod
    def owner_attname(cls) -> str:
        return cls._meta.get_field(cls.tracked_owner).attname
