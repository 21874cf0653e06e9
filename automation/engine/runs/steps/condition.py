"""`condition`: false ends the run, as succeeded, with the reason "condition not met"."""

from ....expressions.evaluate import is_true
from ..outcomes import StopRun


def execute(walker, step, row, repeat):
    passed = is_true(step["condition"], walker.scope(repeat=repeat))
    walker.complete(row, {"passed": passed})
    if not passed:
        raise StopRun("condition not met", failed=False)
    return None


def replay(walker, step, row):
    if not row.result.get("passed", True):
        raise StopRun("condition not met", failed=False)
