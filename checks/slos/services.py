"""Writes of objectives: create, update, delete, each a tracked change of the `slo` entity.

The config is validated here (`slo_field_errors`, also called by the API serializer and the admin form), on the
values the objective will have, so every interface refuses the same things with the same messages.
"""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from automation.entities.mutation import entity_mutate
from catalog.models import System

from .models import MAX_WINDOW_DAYS, MIN_WINDOW_DAYS, Indicator, Slo

FIELDS = ("name", "target_percent", "window_days", "indicator", "latency_threshold_ms")
NAME_TAKEN = "This system already has an objective with this name."


def slo_field_errors(values: dict) -> dict[str, list[str]]:
    """Field errors of an objective's config as it will be (empty: valid). Pure."""
    errors: dict[str, list[str]] = {}
    name = values.get("name") or ""
    if not name.strip() or len(name) > 200:
        errors["name"] = ["A name of 1 to 200 characters is required."]
    try:
        target = Decimal(str(values.get("target_percent")))
        if not (Decimal(0) < target < Decimal(100)) or target.as_tuple().exponent < -3:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors["target_percent"] = ["A percentage above 0 and below 100, at most three decimals (e.g. 99.9)."]
    window = values.get("window_days")
    if not isinstance(window, int) or isinstance(window, bool) or not MIN_WINDOW_DAYS <= window <= MAX_WINDOW_DAYS:
        errors["window_days"] = [f"Whole days from {MIN_WINDOW_DAYS} to {MAX_WINDOW_DAYS}."]
    indicator = values.get("indicator")
    threshold = values.get("latency_threshold_ms")
    if indicator not in Indicator.values:
        errors["indicator"] = [f"One of: {', '.join(Indicator.values)}."]
    elif indicator == Indicator.LATENCY and (not isinstance(threshold, int) or not 1 <= threshold <= 600_000):
        errors["latency_threshold_ms"] = ["A latency objective needs a threshold from 1 to 600000 ms."]
    elif indicator == Indicator.AVAILABILITY and threshold is not None:
        errors["latency_threshold_ms"] = ["Only a latency objective takes a threshold."]
    return errors


def _validated(values: dict) -> None:
    if errors := slo_field_errors(values):
        raise ValidationError(errors)


def _save(slo: Slo, **kwargs) -> None:
    try:
        with transaction.atomic():  # a savepoint: a concurrent save of the same name is a field error
            slo.save(**kwargs)
    except IntegrityError as exc:
        raise ValidationError({"name": [NAME_TAKEN]}) from exc


def _name_free(system_id, name: str, slo_id=None) -> None:
    if Slo.objects.filter(system_id=system_id, name=name).exclude(pk=slo_id).exists():
        raise ValidationError({"name": [NAME_TAKEN]})


@transaction.atomic
def slo_create(*, system: System, actor: str, **fields) -> Slo:
    """Create an objective of `system` (status ok, budget untouched until the first evaluation)."""
    values = {"window_days": 30, "indicator": Indicator.AVAILABILITY, "latency_threshold_ms": None, **fields}
    _validated(values)
    if not System.objects.select_for_update().filter(pk=system.pk).exists():
        raise ValidationError({"system_id": ["This system no longer exists."]})
    _name_free(system.pk, values["name"])
    slo = Slo(system=system, **{k: values[k] for k in FIELDS})

    def write(_current):
        _save(slo, force_insert=True)
        return slo

    entity_mutate(kind="slo", entity_id=slo.pk, write=write, actor=actor)
    return slo


@transaction.atomic
def slo_update(*, slo: Slo, actor: str, **fields) -> Slo:
    """Set the given config fields on the locked row."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise TypeError(f"slo_update() got unknown fields: {', '.join(sorted(unknown))}")

    def write(current: Slo | None):
        if current is None:
            raise Slo.DoesNotExist(f"objective {slo.pk} no longer exists")
        values = {name: getattr(current, name) for name in FIELDS} | fields
        _validated(values)
        if "name" in fields:
            _name_free(current.system_id, values["name"], current.pk)
        for name, value in fields.items():
            setattr(current, name, value)
        _save(current, update_fields=[*fields, "updated_at"])
        return current

    updated, _event = entity_mutate(kind="slo", entity_id=slo.pk, write=write, actor=actor)
    return updated


@transaction.atomic
def slo_delete(*, slo: Slo, actor: str) -> None:
    def write(current: Slo | None):
        if current is not None:
            current.delete()
        return None

    entity_mutate(kind="slo", entity_id=slo.pk, write=write, actor=actor)
