"""Registry of what automations can use: trigger events, actions and artifact types.

Filled by each app at start-up (`AppConfig.ready()`); the automation app never imports the domain apps.
Config and payload schemas are Pydantic models: one declaration gives runtime validation with clear
per-field errors and the JSON Schema served at /api/v1/triggers/ and /api/v1/actions/.
"""

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from pydantic import BaseModel


@dataclass(frozen=True)
class TriggerDefinition:
    """A trigger event automations can start on."""

    id: str  # e.g. "incident.created"
    description: str
    payload_schema: type[BaseModel] | None = None
    # Payload key whose value is the event's context key (e.g. "system_id"); None: no context key.
    context_key_field: str | None = None
    # The entity kind the context key names, and what must stay true of its state for the event to
    # still "hold" (dwells use it). None: the event has no state predicate.
    entity_kind: str | None = None
    holds: Callable[[dict], bool] | None = None
    # Builds the payload this event would have from the entity's current state (dwell re-checks filters).
    payload_from_state: Callable[[str, dict], dict] | None = None
    config_schema: type[BaseModel] | None = None  # built-in triggers with config (cron, interval)
    # A trigger whose config narrows the events it takes (check.numeric_state: which check, field and range)
    # says so as a filter expression built from its config: routing, the index, dwells, simulate and why then
    # treat it as they treat a filter (see `trigger_filter`).
    config_filter: Callable[[dict], str | None] | None = None

    def context_key(self, payload: dict) -> str | None:
        if self.context_key_field is None:
            return None
        value = payload.get(self.context_key_field)
        return None if value is None else str(value)


@dataclass(frozen=True)
class ActionOutcome:
    """What an action returns: success with an optional artifact, or failure with an error message."""

    success: bool
    artifact: dict | None = None
    error: str | None = None
    result: dict = field(default_factory=dict)  # summary shown on the step row

    @classmethod
    def ok(cls, result: dict | None = None, artifact: dict | None = None) -> "ActionOutcome":
        return cls(success=True, artifact=artifact, result=result or {})

    @classmethod
    def fail(cls, error: str, result: dict | None = None) -> "ActionOutcome":
        return cls(success=False, error=error, result=result or {})


@dataclass(frozen=True)
class ActionContext:
    """What an executing action may know about its run."""

    run_id: str
    automation_id: str
    actor: str  # "run:<id>": every domain write the action makes carries it
    run_as_user_id: int | None
    step_path: str
    iteration: str
    depth: int  # causal depth of writes made by this run (loop guard)
    # Monotonic time by which an outside call must have ended: the step's budget, which ends before the
    # run's lease does, so no other worker can take the run over and repeat the call while it is going on.
    deadline: float | None = None

    def call_deadline(self, timeout: float) -> float:
        """When an outside call starting now must end: after `timeout`, or sooner if the step's budget ends."""
        own = time.monotonic() + timeout
        return own if self.deadline is None else min(own, self.deadline)

    @property
    def idempotency_key(self) -> str:
        """Stable across retries of this step: receivers drop duplicates by it."""
        return f"{self.run_id}:{self.step_path}:{self.iteration or '0'}"


class ActionExecute(Protocol):
    def __call__(self, config: BaseModel, consumed: dict[str, dict], context: ActionContext) -> ActionOutcome: ...


# The permission to make an automation resolve any secret (see services/permissions.py for why one).
USE_SECRET = "automation.use_secret"


@dataclass(frozen=True)
class ActionDefinition:
    """An action a step can run."""

    id: str  # e.g. "incident.create"
    description: str
    config_schema: type[BaseModel]
    execute: ActionExecute
    version: int = 1
    produces: str | None = None  # artifact type id
    consumes: tuple[str, ...] = ()
    # Marks the consumed artifact closed on success (resolving an incident closes the `incident`).
    closes_consumed: bool = False
    permissions: tuple[str, ...] = ()  # Django permissions the run_as user needs
    # Top-level config keys whose values (and anything nested in them) may carry `secret("NAME")`: only
    # fields that hand the value to its one intended receiver (a webhook's url, headers and body). Never
    # fields that are stored, logged or shown (log messages, titles, descriptions, updates): the mask
    # there is the only defence, and it knows the exact value only. Default: none.
    secret_fields: tuple[str, ...] = ()
    # True for side effects outside the database (HTTP, email): run outside the step's transaction and
    # retried with the same idempotency key after a crash.
    external: bool = False


@dataclass(frozen=True)
class ArtifactType:
    id: str  # e.g. "incident"
    description: str
    schema: type[BaseModel] | None = None
    # Data key naming the thing the artifact stands for; None: f"{id}_id".
    id_field: str | None = None


@dataclass
class _Definitions:
    triggers: dict[str, TriggerDefinition] = field(default_factory=dict)
    actions: dict[str, ActionDefinition] = field(default_factory=dict)
    artifact_types: dict[str, ArtifactType] = field(default_factory=dict)
    # Extra facts about a system's health for expressions (`health.system.in_maintenance`).
    health_facts: dict[str, Callable[[str], Any]] = field(default_factory=dict)


definitions = _Definitions()


def _register(table: dict, key: str, value) -> None:
    existing = table.get(key)
    if existing is not None and existing != value:
        raise ValueError(f"{key!r} is already registered")
    table[key] = value


def register_trigger(trigger: TriggerDefinition) -> None:
    _register(definitions.triggers, trigger.id, trigger)


def register_action(action: ActionDefinition) -> None:
    _register(definitions.actions, action.id, action)


def register_artifact_type(artifact_type: ArtifactType) -> None:
    _register(definitions.artifact_types, artifact_type.id, artifact_type)


def register_health_fact(name: str, fact: Callable[[str], Any]) -> None:
    """Expose `health.system.<name>`, computed from a system id (e.g. `in_maintenance`)."""
    definitions.health_facts[name] = fact


def trigger(event_id: str) -> TriggerDefinition | None:
    return definitions.triggers.get(event_id)


def trigger_filter(trigger: dict) -> str | None:
    """The filter a document's trigger applies: its config's (if its definition has one) and its own `filter`."""
    own = trigger.get("filter")
    definition = definitions.triggers.get(trigger.get("event"))
    if definition is None or definition.config_filter is None:
        return own
    try:
        implied = definition.config_filter(trigger.get("config") or {})
    except (TypeError, ValueError):
        implied = None  # an invalid config (the validator reports it): nothing implied
    if not implied:
        return own
    return f"{implied} and ({own})" if own else implied


def action(action_id: str) -> ActionDefinition | None:
    return definitions.actions.get(action_id)
