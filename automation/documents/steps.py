"""Validation of an automation's steps: kinds, their keys, expressions, templates and artifacts."""

import re

from ..definitions import definitions
from .problems import join, schema_check

COMMON = {"id", "description", "enabled", "continue_on_error"}
# The step kinds, each with its own keys: the one list (the engine's executors and `step_kind` come from it).
KINDS = {
    "action": {"action", "config"},
    "choose": {"choose", "else"},
    "parallel": {"parallel"},
    "sequence": {"sequence"},
    "repeat": {"repeat"},
    "variables": {"variables"},
    "condition": {"condition"},
    "stop": {"stop"},
    "delay": {"delay"},
    "wait_for_trigger": {"wait_for_trigger"},
    "wait_until": {"wait_until"},
}
STEP_ID = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class StepChecker:
    """Walks steps in document order, so an artifact reference is checked against earlier producers."""

    def __init__(self, problems, known_secrets):
        self.problems, self.known_secrets = problems, known_secrets
        self.produced: set[tuple[str, str]] = set()
        self.step_ids: set[str] = set()

    def steps(self, path: str, steps) -> None:
        if not isinstance(steps, list):
            self.problems.add(path, "must be a list of steps")
            return
        for index, step in enumerate(steps):
            self.step(join(path, index), step)

    def step(self, path: str, step) -> None:
        p = self.problems
        if not isinstance(step, dict):
            p.add(path, "a step is a mapping")
            return
        kinds = [kind for kind in KINDS if kind in step]
        if len(kinds) != 1:
            p.add(path, "a step needs exactly one of: " + ", ".join(KINDS) if not kinds
                  else f"a step has one kind, not {', '.join(kinds)}")
            return
        kind = kinds[0]
        p.unknown_keys(path, step, COMMON | KINDS[kind])
        self._common(path, step)
        getattr(self, f"_{kind}")(path, step)

    def _common(self, path, step):
        p = self.problems
        if "id" in step:
            step_id = step["id"]
            if not isinstance(step_id, str) or not STEP_ID.match(step_id):
                p.add(join(path, "id"), "must match ^[a-zA-Z_][a-zA-Z0-9_]*$")
            elif step_id in self.step_ids:
                p.add(join(path, "id"), f"duplicate step id {step_id!r}")
            else:
                self.step_ids.add(step_id)
        for flag in ("enabled", "continue_on_error"):
            if flag in step and not isinstance(step[flag], bool):
                p.add(join(path, flag), "must be true or false")
        if "description" in step and not isinstance(step["description"], str):
            p.add(join(path, "description"), "must be text")

    # --- kinds ------------------------------------------------------------------------------------------
    def _action(self, path, step):
        p = self.problems
        action_id = step["action"]
        definition = definitions.actions.get(action_id) if isinstance(action_id, str) else None
        if definition is None:
            p.add(join(path, "action"), f"unknown action {action_id!r}")
        config = step.get("config", {})
        if not isinstance(config, dict):
            p.add(join(path, "config"), "config must be a mapping")
            return
        # Secrets only under the keys the action declares able to carry one (definitions.ActionDefinition).
        secret_fields = definition.secret_fields if definition is not None else ()
        for key, value in config.items():
            self._templates(join(join(path, "config"), key), value, secrets_allowed=key in secret_fields)
        if definition is None:
            return
        schema_check(join(path, "config"), definition.config_schema, config, p)
        if definition.produces:
            if "id" not in step:
                p.add(join(path, "id"), f"a step that produces an artifact ({definition.produces}) needs an id")
            elif isinstance(step["id"], str):
                self.produced.add((step["id"], definition.produces))

    def _templates(self, path, value, *, secrets_allowed=False):
        if isinstance(value, str):
            if "{{" in value or "{%" in value:
                self.problems.template(path, value, produced=self.produced, secrets_allowed=secrets_allowed,
                                       known_secrets=self.known_secrets)
        elif isinstance(value, dict):
            for key, item in value.items():
                self._templates(join(path, key), item, secrets_allowed=secrets_allowed)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self._templates(join(path, index), item, secrets_allowed=secrets_allowed)

    def _choose(self, path, step):
        p = self.problems
        options = step["choose"]
        if not isinstance(options, list) or not options:
            p.add(join(path, "choose"), "must be a non-empty list of {when, sequence}")
            return
        for index, option in enumerate(options):
            option_path = join(join(path, "choose"), index)
            if not isinstance(option, dict):
                p.add(option_path, "an option is {when, sequence}")
                continue
            p.unknown_keys(option_path, option, {"when", "sequence"})
            p.expression(join(option_path, "when"), option.get("when"), produced=self.produced)
            self.steps(join(option_path, "sequence"), option.get("sequence"))
        if "else" in step:
            self.steps(join(path, "else"), step["else"])

    def _parallel(self, path, step):
        branches = step["parallel"]
        if not isinstance(branches, list) or not branches:
            self.problems.add(join(path, "parallel"), "must be a non-empty list of steps (or lists of steps)")
            return
        for index, branch in enumerate(branches):
            branch_path = join(join(path, "parallel"), index)
            if isinstance(branch, list):
                self.steps(join(branch_path, "sequence"), branch)
            else:
                self.step(branch_path, branch)

    def _sequence(self, path, step):
        self.steps(join(path, "sequence"), step["sequence"])

    def _repeat(self, path, step):
        p = self.problems
        spec = step["repeat"]
        rpath = join(path, "repeat")
        if not isinstance(spec, dict):
            p.add(rpath, "repeat is {count|for_each|while|until, sequence, max_iterations?}")
            return
        p.unknown_keys(rpath, spec, {"count", "for_each", "while", "until", "sequence", "max_iterations"})
        modes = [m for m in ("count", "for_each", "while", "until") if m in spec]
        if len(modes) != 1:
            p.add(rpath, "repeat needs exactly one of count, for_each, while, until")
        for mode in modes:
            value = spec[mode]
            if mode == "count" and isinstance(value, int) and not isinstance(value, bool):
                if value < 0:
                    p.add(join(rpath, mode), "must not be negative")
            elif mode == "for_each" and isinstance(value, list):
                pass
            else:
                p.expression(join(rpath, mode), value, produced=self.produced)
        limit = spec.get("max_iterations", 1000)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100_000:
            p.add(join(rpath, "max_iterations"), "must be a whole number from 1 to 100000")
        self.steps(join(rpath, "sequence"), spec.get("sequence"))

    def _variables(self, path, step):
        variables = step["variables"]
        if not isinstance(variables, dict) or not variables:
            self.problems.add(join(path, "variables"), "must be a non-empty mapping of names to values")
            return
        self._templates(join(path, "variables"), variables)

    def _condition(self, path, step):
        self.problems.expression(join(path, "condition"), step["condition"], produced=self.produced)

    def _stop(self, path, step):
        spec = step["stop"]
        if isinstance(spec, str):
            return
        if not isinstance(spec, dict):
            self.problems.add(join(path, "stop"), "stop is {reason, error?} or a reason")
            return
        self.problems.unknown_keys(join(path, "stop"), spec, {"reason", "error"})
        if "error" in spec and not isinstance(spec["error"], bool):
            self.problems.add(join(path, "stop.error"), "must be true or false")

    def _delay(self, path, step):
        self.problems.duration(join(path, "delay"), step["delay"])

    def _wait_for_trigger(self, path, step):
        p = self.problems
        spec, wpath = step["wait_for_trigger"], join(path, "wait_for_trigger")
        if not isinstance(spec, dict):
            p.add(wpath, "wait_for_trigger is {event, filter?, timeout?, continue_on_timeout?}")
            return
        p.unknown_keys(wpath, spec, {"event", "filter", "timeout", "continue_on_timeout"})
        event = spec.get("event")
        if not isinstance(event, str) or definitions.triggers.get(event) is None:
            p.add(join(wpath, "event"), f"unknown trigger event {event!r}")
        self._wait_common(wpath, spec)

    def _wait_until(self, path, step):
        p = self.problems
        spec, wpath = step["wait_until"], join(path, "wait_until")
        if not isinstance(spec, dict):
            p.add(wpath, "wait_until is {condition, timeout?, continue_on_timeout?}")
            return
        p.unknown_keys(wpath, spec, {"condition", "timeout", "continue_on_timeout"})
        p.expression(join(wpath, "condition"), spec.get("condition"), produced=self.produced)
        self._wait_common(wpath, spec, filter_key=None)

    def _wait_common(self, wpath, spec, filter_key="filter"):
        p = self.problems
        if filter_key and filter_key in spec:
            p.expression(join(wpath, filter_key), spec[filter_key], produced=self.produced)
        if "timeout" in spec:
            p.duration(join(wpath, "timeout"), spec["timeout"])
        if "continue_on_timeout" in spec and not isinstance(spec["continue_on_timeout"], bool):
            p.add(join(wpath, "continue_on_timeout"), "must be true or false")


def iter_steps(steps):
    """Every step of a list of steps, nested ones included, in document order.

    Tolerates any shape (the validator counts steps before it checks them): what is not a list of steps is
    skipped.
    """
    if not isinstance(steps, list):
        return
    for step in steps:
        if not isinstance(step, dict):
            continue
        yield step
        choose = step.get("choose")
        for option in choose if isinstance(choose, list) else []:
            if isinstance(option, dict):
                yield from iter_steps(option.get("sequence"))
        yield from iter_steps(step.get("else"))
        yield from iter_steps(step.get("sequence"))
        repeat = step.get("repeat")
        if isinstance(repeat, dict):
            yield from iter_steps(repeat.get("sequence"))
        parallel = step.get("parallel")
        for branch in parallel if isinstance(parallel, list) else []:
            yield from iter_steps(branch if isinstance(branch, list) else [branch])
