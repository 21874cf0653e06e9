"""An HTTP check's JSON assertion: a bare expression over the response, in the automations' bounded sandbox.

`response.json` is the parsed body (None when it is not JSON), `response.status` the status code and
`response.headers` the headers by lower-case name. A number as the result is the result's `value` (and the
check passes: check.numeric_state judges it); otherwise a true result passes and a false one fails. Any
evaluation error is the result's error.

At save, the expression must parse and one trial evaluation against an empty response must not exceed the
sandbox's budgets: `'a' * 10**9` is refused then, not on every run.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from automation.expressions.evaluate import ExpressionError, compile_expression, evaluate

TOO_LARGE = "expression too large"
TRIAL_RESPONSE = {"response": {"json": {}, "status": 200, "headers": {}}}


@dataclass(frozen=True)
class AssertionOutcome:
    ok: bool
    value: float | None = None
    error: str = ""


def assertion_errors(text: str) -> list[str]:
    """Why this assertion cannot be saved (empty: it can)."""
    if "{{" in text or "{%" in text:
        return ['Write the assertion bare, without {{ }}, e.g. response.json.status == "ok".']
    try:
        compile_expression(text)
    except ExpressionError as exc:
        return [f"The assertion does not parse: {exc}."]
    try:
        evaluate(text, TRIAL_RESPONSE)
    except ExpressionError as exc:
        # A missing key on the empty trial response is fine; a budget broken by the expression alone is not.
        if str(exc).startswith(TOO_LARGE):
            return [f"The assertion is refused: {exc}."]
    return []


def response_scope(status: int, headers: list[tuple[str, str]], body: bytes) -> dict:
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        parsed = None
    return {"response": {"json": parsed, "status": status, "headers": {k.lower(): v for k, v in headers}}}


def assertion_check(text: str, scope: dict) -> AssertionOutcome:
    """Evaluate the assertion on one response."""
    try:
        result = evaluate(text, scope)
    except ExpressionError as exc:
        return AssertionOutcome(False, error=f"json_assertion: {exc}")
    if isinstance(result, (int, float)) and not isinstance(result, bool):
        number = float(result)
        if not math.isfinite(number):
            return AssertionOutcome(False, error="json_assertion: the value is not a finite number")
        return AssertionOutcome(True, value=number)
    if not result:
        return AssertionOutcome(False, error=f"json_assertion is false: {text}")
    return AssertionOutcome(True)
