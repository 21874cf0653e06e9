"""Registry of entity kinds, change derivers and change subscribers, filled by each app at start-up.

The automation app never imports the domain apps: they declare their kinds here in `AppConfig.ready()`.
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Callable


@dataclass(frozen=True)
class EntityKind:
    """A kind of reactive entity: the row locked while it changes, and how to read its tracked state."""

    kind: str
    model: type
    # Tracked state of a loaded instance; JSON values only (ids and times as strings).
    state: Callable[[Any], dict]
    # Descriptive, untracked fields shown to templates (`title`, `name`); they never wake a run.
    describe: Callable[[Any], dict] = lambda instance: {}


@dataclass(frozen=True)
class Change:
    """One committed change of an entity, as derivers and subscribers see it."""

    change_id: str
    kind: str
    entity_id: str
    prev: dict | None
    next: dict | None
    delta: dict
    changed_fields: list[str]
    actor: str
    occurred_at: datetime
    depth: int = 0
    replayed: bool = False  # routed again by an operator after it was parked (changes_replay)

    @property
    def is_create(self) -> bool:
        return self.prev is None and self.next is not None

    @property
    def is_delete(self) -> bool:
        return self.next is None


@dataclass(frozen=True)
class DerivedEvent:
    """A trigger event derived from a change."""

    event: str
    payload: dict
    context_key: str | None


class Delivery(StrEnum):
    BROADCAST = "broadcast"  # every worker runs the handler
    WORK_QUEUE = "work_queue"  # exactly one worker runs it, once per change


@dataclass(frozen=True)
class Subscription:
    name: str
    kind: str
    handler: Callable[[Change], None]
    delivery: Delivery
    # Pure, without the database: whether the handler has anything to do with this change. Routing asks it
    # before writing a delivery, so a change no subscriber wants costs no row, task or transaction.
    wants: Callable[[Change], bool] = lambda change: True


@dataclass
class _Registry:
    kinds: dict[str, EntityKind] = field(default_factory=dict)
    derivers: dict[str, list[Callable[[Change], list[DerivedEvent]]]] = field(default_factory=dict)
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    # Called once per routing transaction with `[(change, its derived trigger events)]`, oldest first
    # (Stage 1 plugs in here): one call, so the consumer can take its locks for all the changes together. It
    # returns, per change, the function that applies that change's effects given its stored trigger event
    # rows: delivery calls each inside its change's own savepoint, so one change's failure is its own.
    trigger_consumers: list[Callable[[list[tuple[Change, list]]], list[Callable[[list], None]]]] = \
        field(default_factory=list)


registry = _Registry()


def register_entity_kind(kind: EntityKind) -> None:
    """Declare a reactive entity kind; registering the same kind twice is an error."""
    existing = registry.kinds.get(kind.kind)
    if existing is not None and existing.model is not kind.model:
        raise ValueError(f"entity kind {kind.kind!r} is already registered")
    registry.kinds[kind.kind] = kind


def register_deriver(kind: str, deriver: Callable[[Change], list[DerivedEvent]]) -> None:
    """Add a pure function turning a change of `kind` into trigger events."""
    handlers = registry.derivers.setdefault(kind, [])
    if deriver not in handlers:
        handlers.append(deriver)


def subscribe(kind: str, handler: Callable[[Change], None], *, name: str, delivery: Delivery,
              wants: Callable[[Change], bool] | None = None) -> None:
    """Run `handler` for every change of `kind` that `wants(change)` (every change if None); `name` is
    its stable id in delivery records. `wants` is asked inside routing's transaction: a pure check, or at
    most one cheap read (the notification channels' gate)."""
    registry.subscriptions[name] = Subscription(name=name, kind=kind, handler=handler, delivery=delivery,
                                                **({} if wants is None else {"wants": wants}))


def register_trigger_consumer(consumer: Callable[[list[tuple[Change, list]]], list[Callable[[list], None]]]) -> None:
    """Hand the routed changes of each routing transaction, with their derived trigger events, to `consumer`
    inside that transaction (once, oldest change first); it returns one function per change to apply it."""
    if consumer not in registry.trigger_consumers:
        registry.trigger_consumers.append(consumer)


def entity_kind(kind: str) -> EntityKind:
    try:
        return registry.kinds[kind]
    except KeyError:
        raise LookupError(f"unknown entity kind {kind!r}") from None


def derive_events(change: Change) -> list[DerivedEvent]:
    """All trigger events the registered derivers make of `change`."""
    return [event for deriver in registry.derivers.get(change.kind, []) for event in deriver(change)]


def is_tombstone(change: Change) -> bool:
    """`wants` of a subscriber that acts only on deletions."""
    return change.is_delete


def subscriptions_for(change: Change, delivery: Delivery) -> list[Subscription]:
    """The subscriptions of this delivery mode that want this change."""
    return [sub for sub in registry.subscriptions.values()
            if sub.kind == change.kind and sub.delivery == delivery and sub.wants(change)]


def read_entity(kind: str, entity_id: str) -> dict | None:
    """Current tracked plus descriptive state of one entity, or None if it does not exist."""
    spec = entity_kind(kind)
    instance = spec.model._default_manager.filter(pk=entity_id).first()
    if instance is None:
        return None
    return {**spec.describe(instance), **spec.state(instance)}
