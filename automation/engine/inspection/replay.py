"""Replay of the gates a change can be judged on from the change log alone: filter → loop guard → window →
dwell, with the change's own `occurred_at` as the clock and the window counted in memory.

Backtest and "why didn't it fire" both replay through here, with the gate pipeline routing uses
(firing/pipeline.py) and the facts from memory, so a replay and routing cannot disagree on a rule or its
order. Conditions and the mode are not replayed: they read state and runs of the moment (why takes them from
the stored runs, backtest evaluates conditions on today's state).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from ..firing.gates import Gate, window_gate, window_start
from ..firing.pipeline import GateFacts, Judged, gates_judge


@dataclass
class WindowMemory:
    """The qualifying occurrences seen so far, by (trigger id, partition key): a window's count in memory."""

    hits: dict = field(default_factory=lambda: defaultdict(list))

    def count(self, *, trigger: dict, key: str, at: datetime) -> int:
        """Record an occurrence at `at` and return how many fall in the window ending there (it included)."""
        hits = self.hits[(trigger["id"], key)]
        hits.append(at)
        start = window_start(trigger["window"], at)
        hits[:] = [t for t in hits if start <= t <= at]
        return len(hits)


class MemoryFacts(GateFacts):
    """The time gates' facts from memory: the window counted in a WindowMemory (the change log's
    occurrences replayed so far); a dwell holds the firing, as in routing."""

    def __init__(self, windows: WindowMemory):
        self.windows = windows

    def window(self, judged, key):
        return window_gate(judged.trigger["window"], self.windows.count(trigger=judged.trigger, key=key, at=judged.at))


@dataclass(frozen=True)
class TimeGates:
    """The replayed gates of one firing, up to the first that stopped it (a dwell always holds the firing)."""

    gates: list[Gate]
    dwell_seconds: int | None = None  # a `for` trigger whose dwell would be armed for this long

    @property
    def passed(self) -> bool:
        """The firing went on past every replayed gate to conditions and mode at once (no dwell)."""
        return all(gate.passed for gate in self.gates)

    @property
    def stopped_by(self) -> Gate | None:
        return next((gate for gate in self.gates if not gate.passed), None)


def replay_time_gates(*, trigger: dict, scope: dict, context_key: str | None, depth: int, at: datetime,
                      windows: WindowMemory) -> TimeGates:
    """The filter, loop guard, window and dwell of one firing at `at`, in routing's order (gates_judge).

    Only occurrences past the filter and the loop guard count toward the window, as in routing.
    """
    judged = Judged(trigger=trigger, scope=scope, context_key=context_key, depth=depth, at=at)
    verdict = gates_judge(judged, MemoryFacts(windows), last="dwell")
    return TimeGates(verdict.gates, dwell_seconds=verdict.dwell_seconds)
