"""`stop`: end the run now, as failed when `error` is true."""

from ..outcomes import StopRun


def execute(walker, step, row, repeat):
    spec = step["stop"] if isinstance(step["stop"], dict) else {"reason": step["stop"]}
    reason = spec.get("reason") or "stopped"
    walker.complete(row, {"reason": reason, "error": bool(spec.get("error"))})
    raise StopRun(reason, failed=bool(spec.get("error")))


def replay(walker, step, row):
    raise StopRun(row.result.get("reason", "stopped"), failed=bool(row.result.get("error")))
