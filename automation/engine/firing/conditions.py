"""Automation-level `conditions`: all must hold when a run would start."""

from ...expressions.evaluate import ExpressionError, is_true


def condition_holds(condition, scope: dict) -> bool:
    """One condition: a bare expression, or {condition}, {and: [...]}, {or: [...]}, {not: ...}."""
    if isinstance(condition, str):
        return is_true(condition, scope)
    if "condition" in condition:
        return is_true(condition["condition"], scope)
    if "and" in condition:
        return all(condition_holds(c, scope) for c in condition["and"])
    if "or" in condition:
        return any(condition_holds(c, scope) for c in condition["or"])
    if "not" in condition:
        return not condition_holds(condition["not"], scope)
    raise ExpressionError(f"unknown condition form: {sorted(condition)}")


def conditions_hold(conditions: list, scope: dict) -> bool:
    """True when every condition holds; an expression error counts as not holding."""
    try:
        return all(condition_holds(c, scope) for c in conditions)
    except ExpressionError:
        return False
