"""Read and write automation documents as YAML or JSON."""

import json

import yaml

MAX_BYTES = 1024 * 1024
KEY_ORDER = ("name", "description", "enabled", "mode", "concurrency_scope", "max_runs", "triggers", "conditions",
             "actions")


class DocumentError(ValueError):
    """A document that cannot be read; `errors` is a list of {path, message}."""

    def __init__(self, errors: list[dict]):
        super().__init__("; ".join(e["message"] for e in errors))
        self.errors = errors


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without anchors/aliases: they buy nothing here and allow billion-laughs expansion."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "YAML aliases are not allowed", event.start_mark)
        return super().compose_node(parent, index)


def parse_document(text: str | bytes, *, format: str | None = None, what: str = "a document") -> dict:
    """Parse YAML or JSON (detected when `format` is None) into a mapping; DocumentError otherwise."""
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            raise DocumentError([{"path": "", "message": f"document is larger than {MAX_BYTES} bytes"}])
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise DocumentError([{"path": "", "message": "document is not UTF-8 text"}]) from None
    if len(text) > MAX_BYTES:
        raise DocumentError([{"path": "", "message": f"document is larger than {MAX_BYTES} bytes"}])
    try:
        if format == "json" or (format is None and text.lstrip().startswith("{")):
            data = json.loads(text)
        else:
            data = yaml.load(text, Loader=_NoAliasLoader)  # a SafeLoader subclass
    except RecursionError:  # both readers recurse once per level of nesting
        raise DocumentError([{"path": "", "message": "document is nested too deeply"}]) from None
    except json.JSONDecodeError as exc:
        raise DocumentError([{"path": "", "message": f"malformed JSON: {exc.msg} (line {exc.lineno})"}]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DocumentError([{"path": "", "message": f"malformed YAML: {problem}{where}"}]) from None
    if not isinstance(data, dict):
        raise DocumentError([{"path": "", "message": f"{what} must be a mapping of fields"}])
    return data


def clean_yaml_mapping(text: str, *, what: str) -> dict:
    """A form's YAML or JSON mapping field (a payload, template parameters), read with the document reader's
    limits (size, no aliases); empty is {}. A django ValidationError carries the reason."""
    from django.core.exceptions import ValidationError

    if not text.strip():
        return {}
    try:
        return parse_document(text, what=what)
    except DocumentError as exc:
        raise ValidationError(str(exc)) from None


def _ordered(document: dict) -> dict:
    ordered = {key: document[key] for key in KEY_ORDER if key in document}
    ordered.update({key: value for key, value in document.items() if key not in ordered})
    return ordered


def dump_yaml(document: dict) -> str:
    return yaml.safe_dump(_ordered(document), sort_keys=False, allow_unicode=True, default_flow_style=False,
                          width=120)


def dump_json(document: dict) -> str:
    return json.dumps(_ordered(document), indent=2, ensure_ascii=False)
