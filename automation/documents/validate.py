"""The one validator of automation documents, used by the API, the admin and the importer.

Returns every problem as `{path, message}` (paths like `actions.2.config.severity`) and, when there is
none, the document normalized with its defaults filled in.
"""

import json
import re
from dataclasses import dataclass, field

from foundation.json_text import nul_character_path

from ..definitions import definitions
from .io import DocumentError, max_bytes, parse_document
from .problems import Problems, join, schema_check
from .steps import StepChecker, iter_steps

TOP_KEYS = {"name", "description", "enabled", "mode", "concurrency_scope", "max_runs", "triggers", "conditions",
            "actions"}
TRIGGER_KEYS = {"id", "event", "filter", "for", "window", "config"}
WINDOW_KEYS = {"count", "minutes", "refire", "partition_by"}
MODES = ("single", "queued", "restart", "parallel")
SCOPES = ("automation", "context_key")
MAX_DEPTH = 20
# Far beyond any automation a person maintains; checked before any expression is compiled, so a document
# padded with thousands of steps up to the body limit is refused at once instead of costing a validation of
# each step (measured: about 0.5 s for 8,700 templated steps).
MAX_STEPS = 500
MAX_TRIGGERS = 100


@dataclass
class ValidationResult:
    document: dict | None
    errors: list[dict] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors


def _depth(value, level=0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max([_depth(v, level + 1) for v in value.values()] or [level])
    if isinstance(value, list):
        return max([_depth(v, level + 1) for v in value] or [level])
    return level


def default_trigger_id(event: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", event)


def validate_document(raw, *, known_secrets: set[str] | None = None) -> ValidationResult:
    """Validate a document (mapping, or YAML/JSON text); collect every error, save nothing."""
    if isinstance(raw, (str, bytes)):
        try:
            raw = parse_document(raw)
        except DocumentError as exc:
            return ValidationResult(document=None, errors=exc.errors)
    if not isinstance(raw, dict):
        return ValidationResult(document=None, errors=[{"path": "", "message": "a document must be a mapping"}])
    try:
        size = len(json.dumps(raw, default=str))
    except (TypeError, ValueError):
        return ValidationResult(document=None, errors=[{"path": "", "message": "document is not JSON-compatible"}])
    if size > max_bytes():
        return ValidationResult(document=None, errors=[{"path": "", "message": f"document is larger than {max_bytes()} "
                                                                               "bytes"}])
    too_many = _count_error(raw, nested=False)  # before any walk of the tree: a padded list costs nothing
    if too_many:
        return ValidationResult(document=None, errors=[too_many])
    if _depth(raw) > MAX_DEPTH:
        return ValidationResult(document=None,
                                errors=[{"path": "", "message": f"document nests deeper than {MAX_DEPTH} levels"}])
    nul_path = nul_character_path(raw)
    if nul_path is not None:  # PostgreSQL could not store the document
        return ValidationResult(document=None, errors=[{"path": nul_path,
                                                        "message": "NUL characters (\\u0000) are not allowed"}])
    too_many = _count_error(raw, nested=True)
    if too_many:
        return ValidationResult(document=None, errors=[too_many])
    problems = Problems()
    document = _top(raw, problems)
    document["triggers"] = _triggers(raw.get("triggers"), problems)
    document["conditions"] = _conditions(raw.get("conditions", []), problems)
    actions = raw.get("actions", [])
    if not isinstance(actions, list):
        problems.add("actions", "must be a list of steps")
        actions = []
    StepChecker(problems, known_secrets).steps("actions", actions)
    document["actions"] = actions
    if problems.errors:
        return ValidationResult(document=None, errors=problems.errors)
    return ValidationResult(document=document)


def _count_error(raw: dict, *, nested: bool) -> dict | None:
    """An error when the document has more triggers or steps than any automation needs, else None.

    `nested`: count nested steps too (a walk of the tree; only once its depth is known to be bounded).
    """
    triggers, actions = raw.get("triggers"), raw.get("actions")
    if isinstance(triggers, list) and len(triggers) > MAX_TRIGGERS:
        return {"path": "triggers", "message": f"at most {MAX_TRIGGERS} triggers ({len(triggers)} given)"}
    if isinstance(actions, list):
        count = sum(1 for _ in iter_steps(actions)) if nested else len(actions)
        if count > MAX_STEPS:
            return {"path": "actions", "message": f"at most {MAX_STEPS} steps, nested ones included ({count} given)"}
    return None


def _top(raw: dict, problems: Problems) -> dict:
    problems.unknown_keys("", raw, TOP_KEYS)
    name = raw.get("name")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 200:
        problems.add("name", "required, 1 to 200 characters")
    description = raw.get("description", "")
    if not isinstance(description, str):
        problems.add("description", "must be text")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        problems.add("enabled", "must be true or false")
    mode = raw.get("mode", "single")
    if mode not in MODES:
        problems.add("mode", f"must be one of {', '.join(MODES)}")
    scope = raw.get("concurrency_scope", "automation")
    if scope not in SCOPES:
        problems.add("concurrency_scope", f"must be one of {', '.join(SCOPES)}")
    max_runs = raw.get("max_runs", 10)
    if isinstance(max_runs, bool) or not isinstance(max_runs, int) or not 1 <= max_runs <= 1000:
        problems.add("max_runs", "must be a whole number from 1 to 1000")
    return {"name": name.strip() if isinstance(name, str) else name, "description": description, "enabled": enabled,
            "mode": mode, "concurrency_scope": scope, "max_runs": max_runs}


def _triggers(triggers, problems: Problems) -> list:
    if not isinstance(triggers, list) or not triggers:
        problems.add("triggers", "at least one trigger is required")
        return []
    normalized, seen = [], set()
    for index, trigger in enumerate(triggers):
        path = f"triggers.{index}"
        if not isinstance(trigger, dict):
            problems.add(path, "a trigger is a mapping with an `event`")
            continue
        problems.unknown_keys(path, trigger, TRIGGER_KEYS)
        event = trigger.get("event")
        definition = definitions.triggers.get(event) if isinstance(event, str) else None
        if definition is None:
            problems.add(join(path, "event"), f"unknown trigger event {event!r}")
        trigger_id = trigger.get("id", default_trigger_id(event) if isinstance(event, str) else None)
        if not isinstance(trigger_id, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", trigger_id):
            problems.add(join(path, "id"), "must match ^[a-zA-Z_][a-zA-Z0-9_]*$")
        elif trigger_id in seen:
            problems.add(join(path, "id"), f"duplicate trigger id {trigger_id!r}")
        seen.add(trigger_id)
        if "filter" in trigger:
            problems.expression(join(path, "filter"), trigger["filter"])
        if "for" in trigger:
            problems.duration(join(path, "for"), trigger["for"])
        if "window" in trigger:
            _window(join(path, "window"), trigger["window"], problems)
        config = trigger.get("config")
        if definition is not None and definition.config_schema is not None:
            schema_check(join(path, "config"), definition.config_schema, config or {}, problems)
        elif config not in (None, {}):
            problems.add(join(path, "config"), "this trigger takes no config")
        normalized.append({**trigger, "id": trigger_id})
    return normalized


def _window(path: str, window, problems: Problems) -> None:
    if not isinstance(window, dict):
        problems.add(path, "a window is {count, minutes, refire?, partition_by?}")
        return
    problems.unknown_keys(path, window, WINDOW_KEYS)
    for key, low, high in (("count", 1, 1000), ("minutes", 1, 1440)):
        value = window.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            problems.add(join(path, key), f"must be a whole number from {low} to {high}")
    if window.get("refire", "every") not in ("every", "once"):
        problems.add(join(path, "refire"), "must be every or once")
    if "partition_by" in window:
        problems.expression(join(path, "partition_by"), window["partition_by"])


def _conditions(conditions, problems: Problems) -> list:
    if not isinstance(conditions, list):
        problems.add("conditions", "must be a list")
        return []
    for index, condition in enumerate(conditions):
        _condition(f"conditions.{index}", condition, problems)
    return conditions


def _condition(path: str, condition, problems: Problems) -> None:
    if isinstance(condition, str):
        problems.expression(path, condition)
        return
    if not isinstance(condition, dict) or len(condition) != 1:
        problems.add(path, "a condition is an expression or one of {condition}, {and}, {or}, {not}")
        return
    (key, value), = condition.items()
    if key == "condition":
        problems.expression(join(path, key), value)
    elif key in ("and", "or"):
        if not isinstance(value, list) or not value:
            problems.add(join(path, key), "must be a non-empty list of conditions")
            return
        for index, item in enumerate(value):
            _condition(join(join(path, key), index), item, problems)
    elif key == "not":
        _condition(join(path, key), value, problems)
    else:
        problems.add(join(path, str(key)), "unknown key")
