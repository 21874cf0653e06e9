"""Backtest: replay the change log through one automation's triggers and report the runs it would have started.

Pure: it reads change events and writes nothing. The gates are routing's pipeline (firing/pipeline.py), in its
order (filter → loop guard → window → `for` dwell → conditions), replayed with each change's `occurred_at` as
the clock (replay.py), and the same dwell-break rule as routing (`dwell_condition_holds`). Two things it
cannot know from the log:
- expressions reading `state.*` or `health.*` see today's state, not the state at the replayed moment;
- the concurrency mode: how long each run would have lasted is unknown, so every firing that passes the
  gates is reported as a start (a `single` automation would have skipped those that overlap a running run).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Iterator

from ...entities.delivery import as_change
from ...entities.registry import derive_events
from ...models import Automation, ChangeEvent
from ..firing.dwells import dwell_condition_holds
from ..firing.gates import Gate
from ..firing.pipeline import Judged, gates_judge
from ..scope import firing_scope
from .replay import MemoryFacts, WindowMemory, replay_time_gates


@dataclass(frozen=True)
class Firing:
    at: datetime  # when the run would have started (a dwell's deadline for `for:` triggers)
    trigger_id: str
    event: str
    context_key: str | None
    started: bool
    reason: str  # "started", or why the gate that stopped it did
    stopped_by: str | None = None  # that gate's name (None: started)


@dataclass
class BacktestResult:
    events_replayed: int = 0
    firings: list[Firing] = field(default_factory=list)
    pending_dwells: list[tuple[str, str, datetime]] = field(default_factory=list)  # (trigger, key, deadline)

    @property
    def starts(self) -> list[Firing]:
        return [f for f in self.firings if f.started]


@dataclass
class _Dwell:
    trigger: dict
    event: str
    payload: dict
    context_key: str
    deadline: datetime


@dataclass
class _Replay:
    automation: Automation
    result: BacktestResult
    windows: WindowMemory = field(default_factory=WindowMemory)
    dwells: dict = field(default_factory=dict)  # (trigger id, context key) → _Dwell

    def scope(self, trigger: dict, event: str, payload: dict):
        return firing_scope(trigger_id=trigger["id"], event=event, actor="backtest", payload=payload)

    def record(self, at, trigger, event, context_key, stopped: Gate | None):
        self.result.firings.append(Firing(at=at, trigger_id=trigger["id"], event=event, context_key=context_key,
                                          started=stopped is None, reason=stopped.detail if stopped else "started",
                                          stopped_by=stopped.gate if stopped else None))

    def after_time_gates(self, at, trigger, event, payload, context_key):
        judged = Judged(trigger=trigger, scope=self.scope(trigger, event, payload), context_key=context_key, depth=0,
                        at=at, conditions=self.automation.document.get("conditions", []))
        verdict = gates_judge(judged, MemoryFacts(self.windows), first="conditions", last="conditions")
        self.record(at, trigger, event, context_key, verdict.stopped_by)

    def fire_dwells_due(self, until: datetime):
        for key, dwell in sorted(self.dwells.items(), key=lambda item: item[1].deadline):
            if dwell.deadline <= until:
                del self.dwells[key]
                self.after_time_gates(dwell.deadline, dwell.trigger, dwell.event, dwell.payload,
                                      dwell.context_key or None)

    def break_dwells(self, change):
        for key, dwell in list(self.dwells.items()):
            if dwell.context_key == change.entity_id and not dwell_condition_holds(
                    dwell.trigger, dwell.event, dwell.context_key, change.next):
                del self.dwells[key]

    def on_event(self, at, trigger, event, payload, context_key, depth):
        decided = replay_time_gates(trigger=trigger, scope=self.scope(trigger, event, payload),
                                    context_key=context_key, depth=depth, at=at, windows=self.windows)
        if decided.dwell_seconds is not None:
            key = (trigger["id"], context_key or "")
            if key not in self.dwells:  # an armed dwell keeps its first deadline
                self.dwells[key] = _Dwell(trigger, event, payload, context_key or "",
                                          at + timedelta(seconds=decided.dwell_seconds))
            return None
        stopped = decided.stopped_by
        if stopped is not None:
            return self.record(at, trigger, event, context_key, stopped)
        return self.after_time_gates(at, trigger, event, payload, context_key)


def changes_since(since: datetime, until: datetime) -> Iterator[ChangeEvent]:
    return ChangeEvent.objects.filter(occurred_at__gte=since, occurred_at__lte=until).order_by("occurred_at", "id") \
        .iterator(chunk_size=500)


def backtest(*, automation: Automation, since: datetime, until: datetime,
             progress: Callable[[int, int], None] | None = None) -> BacktestResult:
    """Replay the changes in [since, until] through the automation's triggers; `progress(done, total)`."""
    triggers_by_event = defaultdict(list)
    for trigger in automation.document["triggers"]:
        triggers_by_event[trigger["event"]].append(trigger)
    replay = _Replay(automation=automation, result=BacktestResult())
    total = ChangeEvent.objects.filter(occurred_at__gte=since, occurred_at__lte=until).count()
    for done, event in enumerate(changes_since(since, until), start=1):
        change = as_change(event)
        replay.fire_dwells_due(change.occurred_at)
        replay.break_dwells(change)
        for derived in derive_events(change):
            for trigger in triggers_by_event.get(derived.event, []):
                replay.on_event(change.occurred_at, trigger, derived.event, derived.payload, derived.context_key,
                                change.depth)
        replay.result.events_replayed = done
        if progress:
            progress(done, total)
    replay.fire_dwells_due(until)
    replay.result.pending_dwells = [(d.trigger["id"], d.context_key, d.deadline) for d in replay.dwells.values()]
    return replay.result
