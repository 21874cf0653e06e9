"""A check's request headers with `{{ secret("NAME") }}` resolved, at run time only.

The same rules as an action's secret fields (automation/expressions/secret_use.py): a secret is output
whole, alone or joined with literal text. Resolved values join the caller's masking scope, so they are
masked wherever an error or log line would carry them.
"""

from automation.expressions.evaluate import ExpressionError, render_config
from automation.expressions.secret_use import template_secret_errors
from automation.secrets import SecretUnavailable, secret_resolve


class HeaderError(Exception):
    """A header that cannot be rendered (misused or unknown secret, bad template)."""


def headers_render(headers: dict) -> dict[str, str]:
    """The headers to send; raises HeaderError."""
    for name, value in headers.items():
        misuse = template_secret_errors(str(value), allowed=True)
        if misuse:
            raise HeaderError(f"header {name}: {misuse[0]}")
    try:
        rendered = render_config(dict(headers), {}, secret_resolver=secret_resolve)
    except (ExpressionError, SecretUnavailable) as exc:
        raise HeaderError(f"headers: {exc}") from None
    rendered = {name: str(value) for name, value in rendered.items()}
    for name, value in rendered.items():
        # Checked here, not by http.client: its error would quote the value escaped, which masking misses.
        if any(ch in value for ch in "\r\n\x00"):
            raise HeaderError(f"header {name}: the value must be a single line")
    return rendered
