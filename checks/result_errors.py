"""Check errors as shown anywhere (API, admin): masked against the secrets the check's headers name.

The runner masks an error before storing it; showing it masks again, so an error stored by an older
runner, or one that quoted a secret in some other form the runner missed, still reads `***`.
"""

from collections.abc import Iterable

from automation.masking import mask, masking_scope
from automation.secrets import SecretUnavailable, secret_resolve

from .models import Check
from .validation import header_secret_names


def masked_errors(check: Check, errors: Iterable[str]) -> list[str]:
    """The errors of `check` with each value of its header secrets replaced by ***."""
    errors = list(errors)
    names = header_secret_names(check.headers) if any(errors) else set()
    if not names:
        return errors
    # A scope of its own: the values resolved here are forgotten after it, not masked for the rest of the request.
    with masking_scope():
        for name in sorted(names):
            try:
                secret_resolve(name)
            except SecretUnavailable:
                continue
        return [mask(error) for error in errors]


def masked_error(check: Check, error: str) -> str:
    return masked_errors(check, [error])[0]
