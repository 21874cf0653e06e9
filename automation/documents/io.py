"""Read and write automation documents as YAML or JSON."""

import json
import re

import yaml

MAX_BYTES = 128 * 1024  # the default of settings.CHECKSTACK_MAX_DOCUMENT_BYTES; read it through max_bytes()
KEY_ORDER = ("name", "description", "enabled", "mode", "concurrency_scope", "max_runs", "triggers", "conditions",
             "actions")


class DocumentError(ValueError):
    """A document that cannot be read; `errors` is a list of {path, message}."""

    def __init__(self, errors: list[dict]):
        super().__init__("; ".join(e["message"] for e in errors))
        self.errors = errors


def max_bytes() -> int:
    from django.conf import settings

    return getattr(settings, "CHECKSTACK_MAX_DOCUMENT_BYTES", MAX_BYTES)


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without anchors/aliases: they buy nothing here and allow billion-laughs expansion."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "YAML aliases are not allowed", event.start_mark)
        return super().compose_node(parent, index)


MAX_NESTING = 200  # levels of YAML nesting read at all; the validator's own limit is lower


def _refuse_aliases_and_depth(root) -> None:
    """An alias composes to a node already in the graph: refuse the first node reached twice, and nesting past
    MAX_NESTING, before anything is constructed (iterative)."""
    seen, pending = set(), [(root, 1)]
    while pending:
        node, depth = pending.pop()
        if id(node) in seen:
            raise yaml.composer.ComposerError(None, None, "YAML aliases are not allowed", node.start_mark)
        if depth > MAX_NESTING:
            raise RecursionError  # reported as "nested too deeply", as the pure-Python reader's overflow is
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            pending.extend((part, depth + 1) for pair in node.value for part in pair)
        elif isinstance(node, yaml.SequenceNode):
            pending.extend((item, depth + 1) for item in node.value)


# libyaml is quadratic in flow nesting (it rechecks a pending key per open bracket at every token: 100,000
# nested '[' took 166 s) and its composer recurses on the C stack, unchecked (50,000 levels overflowed a
# thread's 8 MB). So nesting is bounded on the text before libyaml reads it: flow brackets, and block
# indicators ('- - - x') stacked on one line; indentation alone nests at most ~750 levels in a document at the
# size limit. Brackets inside quoted or plain scalars count too (telling them apart needs the parser): a false
# refusal needs more than MAX_NESTING unbalanced brackets in the document's text, and its message says why.
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_OPEN = frozenset(b"[{")
_STACKED_INDICATORS = re.compile(r"(?:[-?:][ \t]+){50}")


def _too_deep_for_libyaml(text: str) -> bool:
    """Whether the brackets nest past MAX_NESTING (stray closers never lower the count below zero)."""
    if _STACKED_INDICATORS.search(text):
        return True
    depth = 0
    for char in text.encode().translate(None, _NOT_BRACKETS):  # a few thousand brackets in a document
        if char in _OPEN:
            depth += 1
            if depth > MAX_NESTING:
                return True
        elif depth:
            depth -= 1
    return False


def _compose_c(text: str):
    loader = yaml.CSafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if "&" in text:  # an alias needs an anchor ('&name'): without one the graph is a tree, not walked
            _refuse_aliases_and_depth(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def load_yaml(text: str):
    """Safe YAML without aliases. libyaml's parser where installed (the pure-Python one took 24 s for 1 MB):
    it composes the node graph in C, which is checked for aliases and depth before anything is constructed."""
    if not hasattr(yaml, "CSafeLoader"):
        return yaml.load(text, Loader=_NoAliasLoader)
    if _too_deep_for_libyaml(text):
        raise RecursionError  # reported as "nested too deeply"
    return _compose_c(text)


def parse_document(text: str | bytes, *, format: str | None = None, what: str = "a document") -> dict:
    """Parse YAML or JSON (detected when `format` is None) into a mapping; DocumentError otherwise."""
    limit = max_bytes()
    too_large = DocumentError([{"path": "", "message": f"document is larger than {limit} bytes"}])
    if isinstance(text, bytes):
        if len(text) > limit:
            raise too_large
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise DocumentError([{"path": "", "message": "document is not UTF-8 text"}]) from None
    if len(text) > limit:
        raise too_large
    try:
        if format == "json" or (format is None and text.lstrip().startswith("{")):
            data = json.loads(text)
        else:
            data = load_yaml(text)
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
