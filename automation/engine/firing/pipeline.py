"""The gates of one firing, evaluated in their order by one function for routing, simulate, replay and
backtest: filter → loop guard → window → dwell → conditions → mode.

Each caller gives the pipeline its facts (GateFacts): routing the rows under its automation lock (a window
occurrence written and counted, a dwell armed, the bucket's runs counted), simulate the same rows read-only,
replay and backtest what they remember of the change log. The decisions are gates.py's; the order and what
stops a firing are decided here, once.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings

from .gates import (
    GATE_ORDER,
    Bucket,
    Gate,
    ModeDecision,
    conditions_gate,
    dwell_gate,
    failing_as,
    filter_gate,
    loop_guard,
    mode_gate,
    partition_key,
)


@dataclass(frozen=True)
class Judged:
    """What a firing is judged on."""

    trigger: dict
    scope: dict
    context_key: str | None
    depth: int
    at: datetime  # the window's clock: the change's (or tick's) time
    conditions: list = field(default_factory=list)
    mode: str = "single"
    max_runs: int = 1


class GateFacts:
    """Where the gates' facts come from; each is asked for only when its gate is reached. The defaults judge
    on nothing but the firing itself; a caller overrides what it knows."""

    def window(self, judged: Judged, key: str) -> Gate:
        """The window gate with this occurrence (partition `key`, at `judged.at`) counted."""
        raise NotImplementedError

    def dwell(self, judged: Judged, gate: Gate, seconds: int | None) -> Gate:
        """A `for` trigger's dwell of `seconds` (None: its duration is an error, carried by `gate`): arm it,
        look it up or remember it; the gate to show."""
        return gate

    def conditions(self, judged: Judged) -> list[Gate]:
        """The conditions' gate(s); [] when they are not judged here."""
        return [conditions_gate(judged.conditions, judged.scope)]

    def bucket(self, judged: Judged) -> Bucket | None:
        """The runs of the firing's concurrency bucket; None when the mode is not judged here."""
        return None


@dataclass
class Verdict:
    """The gates a firing went through, in order, up to the one that stopped it (all of them if asked)."""

    gates: list[Gate] = field(default_factory=list)
    dwell_seconds: int | None = None  # a `for` trigger whose dwell was armed for this long
    mode: ModeDecision | None = None

    @property
    def stopped_by(self) -> Gate | None:
        return next((gate for gate in self.gates if not gate.passed), None)

    @property
    def passed(self) -> bool:
        return self.stopped_by is None


def _window(judged: Judged, facts: GateFacts, verdict: Verdict) -> list[Gate]:
    if not judged.trigger.get("window"):
        return []
    return [facts.window(judged, partition_key(judged.trigger, judged.scope, judged.context_key))]


def _dwell(judged: Judged, facts: GateFacts, verdict: Verdict) -> list[Gate]:
    if not judged.trigger.get("for"):
        return []
    gate, seconds = dwell_gate(judged.trigger, judged.scope)
    verdict.dwell_seconds = seconds
    return [facts.dwell(judged, gate, seconds)]


def _mode(judged: Judged, facts: GateFacts, verdict: Verdict) -> list[Gate]:
    bucket = facts.bucket(judged)
    if bucket is None:
        return []
    verdict.mode = mode_gate(judged.mode, judged.max_runs, bucket)
    return [verdict.mode.gate]


# Each gate's step: the gates it yields (none when the firing has no such gate, or it is not judged here).
# A step that raises fails as its gate (GateFailed), as routing records it.
STEPS = {
    "filter": lambda judged, facts, verdict: [filter_gate(judged.trigger, judged.scope)],
    "loop guard": lambda judged, facts, verdict: [loop_guard(judged.depth, settings.CHECKSTACK_MAX_CHAIN_DEPTH)],
    "window": _window,
    "dwell": _dwell,
    "conditions": lambda judged, facts, verdict: facts.conditions(judged),
    "mode": _mode,
}
assert tuple(STEPS) == GATE_ORDER


def gates_judge(judged: Judged, facts: GateFacts, *, first: str = "filter", last: str = "mode",
                all_gates: bool = False) -> Verdict:
    """The gates from `first` to `last`, in order, each on `facts`; stops at the first that does not pass
    (a dwell always holds the firing) unless `all_gates` (simulate shows every gate to whoever fixes one)."""
    verdict = Verdict()
    names = GATE_ORDER[GATE_ORDER.index(first):GATE_ORDER.index(last) + 1]
    for name in names:
        with failing_as(name):
            gates = STEPS[name](judged, facts, verdict)
        verdict.gates.extend(gates)
        if not all_gates and any(not gate.passed for gate in gates):
            break
    return verdict
