"""The `check.numeric_state` trigger: a check result's number entering a range, edge-triggered.

An automation's trigger config (`check_id?`, `system_id?`, `field`, `above?`, `below?`) is one *watch*, named by
a canonical key. The trigger filters on `trigger.payload.watch == '<key>'` (its `config_filter`), so Stage 1's
index sends each event only to the automations with that very watch, and simulate and why show it as a filter.

After each result, `numeric_watches_follow` looks up the watches of the result's check in the trigger index
(one indexed query, the only cost for a check nobody watches: no row, no change event, no routing). Per watch,
a `check_numeric` entity row records whether the value is inside; it is written through the mutation service
only when that flips, and a flip to inside derives `check.numeric_state`. A first value already inside fires
nothing (no crossing was seen); a result without the field's value (a failed run's missing latency) leaves
the watch as it was. `for:` holds while the row stays inside.
"""

from __future__ import annotations

import math
import uuid
from typing import Literal

from django.db.models import Q
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from automation.definitions import TriggerDefinition, register_trigger
from automation.entities.mutation import entity_mutate
from automation.entities.registry import Change, DerivedEvent, EntityKind, register_deriver, register_entity_kind
from automation.models import AutomationTrigger

from .numeric_models import NumericWatch, watch_row_id

EVENT = "check.numeric_state"
FIELDS = ("latency_ms", "tls_days_left", "value")
ACTOR = "system:checks"


class NumericStateConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    check_id: uuid.UUID | None = Field(default=None, description="Watch this check's results.")
    system_id: uuid.UUID | None = Field(default=None, description="Watch the results of every check of this system.")
    field: Literal[FIELDS] = Field(description="The result's number: latency_ms, tls_days_left, or a JSON "
                                               "assertion's value.")
    above: float | None = Field(default=None, description="Inside when the value is above this.")
    below: float | None = Field(default=None, description="Inside when the value is below this.")

    @model_validator(mode="after")
    def _bounded(self):
        if self.above is None and self.below is None:
            raise ValueError("give at least one bound: above, below or both")
        for bound in (self.above, self.below):
            if bound is not None and not math.isfinite(bound):
                raise ValueError("bounds must be finite numbers")
        if self.above is not None and self.below is not None and self.above >= self.below:
            raise ValueError("above must be less than below: the range would be empty")
        return self


def _number(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def watch_key(config: NumericStateConfig) -> str:
    """Canonical: `c:<check>` / `s:<system>` / `a:` (every check), then field and bounds."""
    scope = f"c:{config.check_id}" if config.check_id else f"s:{config.system_id}" if config.system_id else "a:"
    return f"{scope}:{config.field}:{_number(config.above)}:{_number(config.below)}"


def parse_watch(key: str) -> tuple[str, str, float | None, float | None]:
    """(field, above, below) back from a key, with its scope prefix."""
    scope, ident, field, above, below = key.split(":")
    return field, (float(above) if above else None), (float(below) if below else None), f"{scope}:{ident}"


def config_filter(config: dict) -> str | None:
    try:
        return f"trigger.payload.watch == '{watch_key(NumericStateConfig.model_validate(config))}'"
    except ValidationError:
        return None


def inside(value: float | None, above: float | None, below: float | None) -> bool | None:
    """Whether `value` is in the range (strictly above and below); None without a value."""
    if value is None:
        return None
    return (above is None or value > above) and (below is None or value < below)


def watches_of(checks) -> dict[str, list[str]]:
    """The watch keys of enabled automations naming each of `checks` (pairs of check id and system id), its
    system or every check, by check id: one query for the lot (index trigger_index_event_key)."""
    checks = {str(check_id): str(system_id) for check_id, system_id in checks}
    if not checks:
        return {}
    prefix = "eq:watch:"
    scopes = Q(index_key__startswith=f"{prefix}a::")
    for check_id in checks:
        scopes |= Q(index_key__startswith=f"{prefix}c:{check_id}:")
    for system_id in set(checks.values()):
        scopes |= Q(index_key__startswith=f"{prefix}s:{system_id}:")
    keys = {key[len(prefix):] for key in AutomationTrigger.objects.filter(scopes, event=EVENT, enabled=True)
            .values_list("index_key", flat=True).distinct()}
    out = {check_id: [] for check_id in checks}
    for key in sorted(keys):
        scope = parse_watch(key)[3]
        for check_id, system_id in checks.items():
            if scope in ("a:", f"c:{check_id}", f"s:{system_id}"):
                out[check_id].append(key)
    return out


def numeric_watches_follow(*, check, result, actor: str = ACTOR, watches: list[str] | None = None) -> list[str]:
    """After `result` of `check` (in its transaction): flip the watches it moves across; the keys flipped.

    `watches`: the check's watch keys when the caller looked them up already (watches_of, for a batch);
    a check nobody watches then costs no query at all.
    """
    if watches is None:
        watches = watches_of([(check.pk, check.system_id)])[str(check.pk)]
    flipped = []
    for watch in watches:
        field, above, below, _scope = parse_watch(watch)
        now_inside = inside(getattr(result, field), above, below)
        if now_inside is None:
            continue
        row_id = watch_row_id(check.pk, watch)
        current = NumericWatch.objects.filter(pk=row_id).values_list("inside", flat=True).first()
        if current is now_inside:
            continue

        value = getattr(result, field)

        def write(locked, watch=watch, row_id=row_id, now_inside=now_inside, value=value):
            row = locked or NumericWatch(id=row_id, check_ref_id=check.pk, watch=watch)
            row.inside, row.value, row.at = now_inside, value, result.at
            row.save(force_insert=locked is None)
            return row

        entity_mutate(kind="check_numeric", entity_id=row_id, write=write, actor=actor)
        flipped.append(watch)
    return flipped


def numeric_state(row: NumericWatch) -> dict:
    return {"check_id": str(row.check_ref_id), "system_id": str(row.check_ref.system_id), "watch": row.watch,
            "inside": row.inside, "value": row.value}


def numeric_payload(watch_id: str, state: dict) -> dict:
    field, above, below, _scope = parse_watch(state["watch"])
    return {"watch_id": watch_id, "check_id": state.get("check_id"), "system_id": state.get("system_id"),
            "watch": state["watch"], "field": field, "value": state.get("value"), "above": above, "below": below}


def derive_numeric_events(change: Change) -> list[DerivedEvent]:
    """check.numeric_state when a watch goes from outside to inside (a first value inside is no crossing)."""
    if change.is_create or change.is_delete or not change.next["inside"] or change.prev["inside"]:
        return []
    return [DerivedEvent(event=EVENT, payload=numeric_payload(change.entity_id, change.next),
                         context_key=change.entity_id)]


class NumericStatePayload(BaseModel):
    """Payload of check.numeric_state."""

    watch_id: str = Field(description="The watch's state row (the event's context key): one per check and range.")
    check_id: str
    system_id: str
    watch: str = Field(description="The watch key the trigger's config stands for (what routing matches on).")
    field: Literal[FIELDS]
    value: float | None = Field(description="The value that entered the range.")
    above: float | None
    below: float | None


def holds_inside(state: dict) -> bool:
    """State predicate (for `for:`): the value is still inside the range."""
    return bool(state.get("inside"))


def register() -> None:
    register_entity_kind(EntityKind(kind="check_numeric", model=NumericWatch, state=numeric_state))
    register_deriver("check_numeric", derive_numeric_events)
    register_trigger(TriggerDefinition(
        id=EVENT,
        description="A check result's latency_ms, tls_days_left or JSON assertion value entered a range "
                    "(above and/or below) from outside it; results that stay inside fire nothing.",
        payload_schema=NumericStatePayload, config_schema=NumericStateConfig, config_filter=config_filter,
        context_key_field="watch_id", entity_kind="check_numeric", holds=holds_inside,
        payload_from_state=numeric_payload))
