"""The gates of a firing as pure decisions, in their order: filter → loop guard → window → dwell → conditions
→ mode.

Routing, simulate, why and backtest all decide with these functions; each supplies the facts a gate needs
(window hits from rows or from memory, the bucket's runs from rows or none) and acts on the decision. Nothing
here reads the database, so a replay and the live path cannot disagree on a rule.
"""

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from billiard.exceptions import SoftTimeLimitExceeded

from ...definitions import trigger_filter
from ...expressions.evaluate import ExpressionError, evaluate, is_true
from ..waiting.durations import DurationError, duration_seconds
from .conditions import condition_holds

GATE_ORDER = ("filter", "loop guard", "window", "dwell", "conditions", "mode")

REASON_FILTER = "filter did not match"
REASON_LOOP = "automation loop"
REASON_CONDITIONS = "conditions not met"
REASON_ACTIVE = "a run is already active (mode single)"
REASON_QUEUE_FULL = "queue is full (mode queued)"
REASON_MAX_RUNS = "max_runs reached (mode parallel)"
REASON_NO_LONGER_HOLDS = "no longer holds"  # a replayed event whose state predicate is false now
# The task's soft time limit (settings CHECKSTACK_TASK_SOFT_TIME_LIMIT_SECONDS) struck while deciding this.
TIME_LIMIT_TEXT = "the task's time limit ran out while deciding this"

# What a skipped run records as `stopped_by` besides a gate of GATE_ORDER: a replayed change whose event no
# longer holds (judged before the gates), and a failure of routing outside any gate.
STOPPED_BY_REPLAY = "replay"
STOPPED_BY_ROUTING = "routing"


class GateFailed(Exception):
    """A gate raised while deciding a firing: that firing's failure, recorded as "error in <gate>: …"."""

    def __init__(self, gate: str, exc: BaseException):
        super().__init__(f"error in {gate}: {error_text(exc)}")
        self.gate = gate


@contextmanager
def failing_as(gate: str):
    """Whatever the block raises (not already a GateFailed) becomes a GateFailed of `gate`."""
    try:
        yield
    except GateFailed:
        raise
    except Exception as exc:  # MemoryError and RecursionError too
        raise GateFailed(gate, exc) from exc


@dataclass(frozen=True)
class Gate:
    """One gate's decision: whether the firing goes on past it, and why (or why not)."""

    gate: str
    passed: bool
    detail: str
    error: str | None = None  # the expression error that decided it, if any

    def as_dict(self) -> dict:
        return {"gate": self.gate, "passed": self.passed, "detail": self.detail}


def filter_gate(trigger: dict, scope: dict) -> Gate:
    """The trigger's `filter` on the firing's scope; an expression error is a miss that carries the error."""
    expression = trigger_filter(trigger)
    if not expression:
        return Gate("filter", True, "no filter")
    try:
        passed = is_true(expression, scope)
    except Exception as exc:  # noqa: BLE001 - MemoryError, RecursionError too: user input must not stop routing
        return Gate("filter", False, f"filter error: {error_text(exc)}", error=error_text(exc))
    return Gate("filter", passed, f"{expression} is {passed}" if passed else REASON_FILTER)


def error_text(exc: BaseException) -> str:
    """An error as a firing records it: the expression's own message, else the exception's type and message."""
    if isinstance(exc, (ExpressionError, DurationError)):
        return str(exc)
    if isinstance(exc, SoftTimeLimitExceeded):
        return TIME_LIMIT_TEXT
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def loop_guard(depth: int, limit: int) -> Gate:
    """A change caused by more than `limit` automation steps in a chain starts nothing."""
    if depth > limit:
        return Gate("loop guard", False, REASON_LOOP)
    return Gate("loop guard", True, f"causal depth {depth} (limit {limit})")


def partition_key(trigger: dict, scope: dict, context_key: str | None) -> str:
    """The window's partition: `partition_by` when it yields a value, else the event's context key."""
    expression = (trigger.get("window") or {}).get("partition_by")
    if expression:
        try:
            value = evaluate(expression, scope)
        except Exception:  # noqa: BLE001 - any error of the expression: the context key partitions instead
            value = None
        if value not in (None, ""):
            return str(value)
    return context_key or ""


def window_start(window: dict, at: datetime) -> datetime:
    """The oldest occurrence time that still counts for an occurrence at `at`."""
    return at - timedelta(minutes=window["minutes"])


def window_gate(window: dict, count: int) -> Gate:
    """With `count` occurrences in the window (this one included): `every` fires at each occurrence from the
    count-th on, `once` only at the count-th."""
    needed = window["count"]
    fires = count == needed if window.get("refire", "every") == "once" else count >= needed
    detail = f"window: {count} of {needed} in {window['minutes']} min"
    return Gate("window", fires, detail)


def dwell_gate(trigger: dict, scope: dict) -> tuple[Gate, int | None]:
    """A `for` trigger never starts a run at the event: it arms a dwell of the returned seconds (None when
    the duration cannot be computed: the gate then carries the error)."""
    try:
        seconds = duration_seconds(trigger["for"], scope)
    except Exception as exc:  # noqa: BLE001 - DurationError, ExpressionError, and whatever user input raises
        return Gate("dwell", False, f"dwell duration: {error_text(exc)}", error=error_text(exc)), None
    return Gate("dwell", False, f"arms a {seconds}s dwell; the run starts at its deadline if the state held"), \
        seconds


def conditions_gate(conditions: list, scope: dict) -> Gate:
    """Every automation-level condition must hold; an expression error counts as not holding."""
    for index, condition in enumerate(conditions or []):
        try:
            holds = condition_holds(condition, scope)
        except Exception as exc:  # noqa: BLE001 - an error counts as not holding, whatever raised it
            return Gate("conditions", False, f"{REASON_CONDITIONS}: conditions.{index}: {error_text(exc)}",
                        error=error_text(exc))
        if not holds:
            return Gate("conditions", False, REASON_CONDITIONS)
    return Gate("conditions", True, f"{len(conditions or [])} condition(s) hold")


@dataclass(frozen=True)
class Bucket:
    """The runs of a concurrency bucket that matter to the mode: active ones, and of them the pending."""

    active: int = 0
    pending: int = 0

    @property
    def started(self) -> int:
        return self.active - self.pending


@dataclass(frozen=True)
class ModeDecision:
    gate: Gate
    start_now: bool = False  # nothing in the bucket stops the run from starting at once
    cancel_active: bool = False  # restart: the active runs are cancelled first


def mode_gate(mode: str, max_runs: int, bucket: Bucket) -> ModeDecision:
    """The concurrency mode in the firing's bucket."""
    summary = f"mode {mode}: {bucket.active} active run(s) in its bucket"
    if mode == "single":
        if bucket.active:
            return ModeDecision(Gate("mode", False, REASON_ACTIVE))
        return ModeDecision(Gate("mode", True, summary), start_now=True)
    if mode == "queued":
        # The pending runs wait, except the oldest when nothing has started yet: it is next.
        waiting = bucket.pending if bucket.started or not bucket.pending else bucket.pending - 1
        if waiting >= max_runs:
            return ModeDecision(Gate("mode", False, REASON_QUEUE_FULL))
        return ModeDecision(Gate("mode", True, f"{summary}; {waiting} waiting"), start_now=not bucket.active)
    if mode == "parallel":
        if bucket.active >= max_runs:
            return ModeDecision(Gate("mode", False, REASON_MAX_RUNS))
        return ModeDecision(Gate("mode", True, summary), start_now=True)
    # restart
    detail = summary + ("; they would be cancelled" if bucket.active else "")
    return ModeDecision(Gate("mode", True, detail), start_now=True, cancel_active=bool(bucket.active))
