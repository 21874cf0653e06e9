"""Where `secret("NAME")` may stand in a template: the one decision, for validation and for the run.

A resolved secret is masked by its exact value, so any transformation of it (a filter, slicing, a method,
arithmetic, a loop over its characters, a block that captures output) would slip past the mask. The rule is
therefore read from the parse tree, not from the value: a `secret()` call with a literal name may only be
output whole at the top level of a template, alone or joined with `~` to literals and other such calls.
`"{{ secret('X') }}"`, `"Bearer {{ secret('X') }}"` and `"{{ 'Bearer ' ~ secret('X') }}"` pass;
`{{ secret('X') | reverse }}`, `{{ secret('X')[1:] }}`, `{% set s %}{{ secret('X') }}{% endset %}` do not.
"""

from jinja2 import nodes

SECRET = "secret"
PLACEMENT = ("secret() must be output whole, alone or joined with ~ to literal text; "
             "no filter, slicing, method, operator or block may use it")
NEEDS_LITERAL = "secret() needs one literal name, e.g. secret(\"API_TOKEN\")"


def mentions_secret(tree: nodes.Node) -> bool:
    """Whether the tree names `secret` at all (called or not)."""
    return any(name.name == SECRET for name in tree.find_all(nodes.Name))


def _is_secret_call(node: nodes.Node) -> bool:
    return isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name) and node.node.name == SECRET


def _literal_name(call: nodes.Call) -> bool:
    return (len(call.args) == 1 and isinstance(call.args[0], nodes.Const) and isinstance(call.args[0].value, str)
            and not call.kwargs and call.dyn_args is None and call.dyn_kwargs is None)


def _allowed_output_part(node: nodes.Node, calls: list) -> bool:
    """Whether `node`, a part of a top-level output, only joins literals and secret calls (collecting them)."""
    if _is_secret_call(node):
        calls.append(node)
        return True
    if isinstance(node, nodes.Concat):
        return all(_allowed_output_part(part, calls) or isinstance(part, (nodes.Const, nodes.TemplateData))
                   for part in node.nodes)
    return False


def secret_placement_errors(tree: nodes.Template) -> list[str]:
    """Why the tree's uses of `secret` break the rule; empty when they follow it (or there are none)."""
    if not mentions_secret(tree):
        return []
    allowed: list[nodes.Call] = []
    for statement in tree.body:
        if not isinstance(statement, nodes.Output):
            continue
        for part in statement.nodes:
            calls: list[nodes.Call] = []
            if _allowed_output_part(part, calls):
                allowed.extend(calls)
    errors = []
    if any(not _literal_name(call) for call in allowed):
        errors.append(NEEDS_LITERAL)
    # Every other appearance of the name is a use the rule does not allow (`{% set f = secret %}` included).
    allowed_names = {id(call.node) for call in allowed}
    if any(id(name) not in allowed_names for name in tree.find_all(nodes.Name) if name.name == SECRET):
        errors.append(PLACEMENT)
    return errors


NOT_HERE = "secret() is not allowed here: only the config fields an action declares (e.g. a webhook's url, " \
           "headers and body) may carry one"


def _parse(text: str) -> nodes.Template | None:
    from .evaluate import ExpressionError, parse_template

    try:
        return parse_template(text)
    except ExpressionError:
        return None  # the validator reports it; a run fails rendering it


def template_secret_errors(text: str, *, allowed: bool) -> list[str]:
    """Why `text` may not use secrets as it does, where secrets are `allowed` or not."""
    if SECRET not in text:  # cheap: no template names it without the word
        return []
    tree = _parse(text)
    if tree is None or not mentions_secret(tree):
        return []
    return secret_placement_errors(tree) if allowed else [NOT_HERE]


def _strings(value, path: str):
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}.{index}")


def config_secret_errors(config: dict, *, secret_fields) -> list[tuple[str, str]]:
    """(path, message) for each misuse of secrets in an action's config; paths start at `config`."""
    errors = []
    for key, value in (config.items() if isinstance(config, dict) else ()):
        for path, text in _strings(value, f"config.{key}"):
            errors.extend((path, message) for message in template_secret_errors(text, allowed=key in secret_fields))
    return errors


def config_uses_secret(config) -> bool:
    """Whether any template in `config` names `secret`."""
    for _path, text in _strings(config, "config"):
        if SECRET in text:
            tree = _parse(text)
            if tree is not None and mentions_secret(tree):
                return True
    return False
