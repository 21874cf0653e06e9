"""Problems found in a document: collected as `{path, message}` errors while it is walked, by the validator
and the step checker alike."""

from pydantic import ValidationError

from ..expressions.evaluate import (
    ExpressionError,
    compile_expression,
    compile_template,
    expression_references,
    template_references,
)
from ..expressions.secret_use import template_secret_errors

# Distinct expressions and templates one document may hold: compiling one costs about a millisecond, so this
# bounds a document's validation at about a second however its bytes are spent (25,000 tiny distinct templates
# fit in the document limit). A repeated source is compiled once and counts once.
MAX_SOURCES = 1000


def join(path: str, key) -> str:
    """The path of `key` below `path`, e.g. `actions.2.config`."""
    return f"{path}.{key}" if path else str(key)


class Problems:
    """Collects `{path, message}` errors while a document is walked."""

    def __init__(self):
        self.errors: list[dict] = []
        self.sources: set = set()

    def over_source_cap(self, text) -> bool:
        """Count `text` among the document's distinct sources; True (reported once) past MAX_SOURCES."""
        if text in self.sources:
            return False
        if len(self.sources) >= MAX_SOURCES:
            if len(self.sources) == MAX_SOURCES:
                self.sources.add(None)  # the marker that the error was reported
                self.add("", f"more than {MAX_SOURCES} distinct expressions and templates")
            return True
        self.sources.add(text)
        return False

    def add(self, path: str, message: str) -> None:
        self.errors.append({"path": path, "message": message})

    def unknown_keys(self, path: str, value: dict, allowed: set) -> None:
        for key in sorted(set(value) - allowed, key=str):
            self.add(join(path, str(key)), "unknown key")

    def expression(self, path: str, text, *, produced=None) -> None:
        """A bare expression: parses, has no {{ }} wrapper, references only earlier artifacts, no secrets."""
        if not isinstance(text, str) or not text.strip():
            self.add(path, "must be a non-empty expression")
            return
        if "{{" in text or "{%" in text:
            self.add(path, "expressions are written bare, without {{ }}")
            return
        if self.over_source_cap(text):
            return
        try:
            compile_expression(text)
            artifacts, secrets = expression_references(text)
        except ExpressionError as exc:
            self.add(path, f"expression does not parse: {exc}")
            return
        self._references(path, artifacts, produced)
        if secrets:
            self.add(path, "secret() may only be used in the config fields an action declares")

    def template(self, path: str, text: str, *, produced=None, secrets_allowed=False, known_secrets=None) -> None:
        if self.over_source_cap(("template", text)):
            return
        try:
            compile_template(text)
            artifacts, secrets = template_references(text)
        except ExpressionError as exc:
            self.add(path, f"template does not parse: {exc}")
            return
        self._references(path, artifacts, produced)
        misuses = template_secret_errors(text, allowed=secrets_allowed)
        for message in misuses:
            self.add(path, message)
        if secrets_allowed and not misuses and known_secrets is not None:
            for name in sorted(secrets - {""}):
                if name not in known_secrets:
                    self.add(path, f"unknown secret {name!r}")

    def _references(self, path, artifacts, produced):
        if produced is None:
            return
        for step_id, type_id in sorted(artifacts):
            if (step_id, type_id) not in produced:
                self.add(path, f"artifacts.{step_id}.{type_id}: no earlier step {step_id!r} produces {type_id!r}")

    def duration(self, path: str, value) -> None:
        if not isinstance(value, dict) or len(value) != 1:
            self.add(path, "a duration is one of {seconds}, {minutes}, {hours} or {template}")
            return
        (unit, amount), = value.items()
        if unit == "template":
            self.expression(join(path, "template"), amount)
            return
        limits = {"seconds": 30 * 86400, "minutes": 30 * 1440, "hours": 30 * 24}
        if unit not in limits:
            self.add(join(path, str(unit)), "unknown key")
        elif isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
            self.add(join(path, unit), "must be a positive whole number")
        elif amount > limits[unit]:
            self.add(join(path, unit), "must be at most 30 days")


def _is_templated(value) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def schema_check(path: str, schema, config, problems: Problems) -> None:
    """Check a config against a pydantic model, leaving templated values to be checked at run time."""
    if not isinstance(config, dict):
        problems.add(path, "config must be a mapping")
        return
    try:
        schema.model_validate(config)
    except ValidationError as exc:
        for error in exc.errors():
            if _is_templated(error.get("input")):
                continue
            location = ".".join(str(part) for part in error["loc"])
            message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
            problems.add(join(path, location) if location else path, message)
