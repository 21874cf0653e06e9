"""Why did an automation (not) fire for an entity: its recent changes replayed through the filter, the loop
guard and the window, and what the stored runs say conditions and the mode decided.

A filter miss and a window hold leave no run (docs/automations.md), so those gates are replayed here, on demand, with
the automation's *current* document and each change's own `occurred_at` as the clock (replay.py, the same
gates as routing). Conditions and the mode read state and runs of the moment; only the `skipped` or started
run that routing wrote (matched by firing key = change id and trigger id) can say what they decided: a
skipped run records the gate that stopped it (`stopped_by`).
Read-only.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q

from ...entities.delivery import as_change
from ...entities.registry import DerivedEvent, derive_events
from ...models import Automation, ChangeEvent, Dwell, Run, RunStatus
from ..scope import firing_scope
from .replay import TimeGates, WindowMemory, replay_time_gates

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
NOTE = ("filter, loop guard and window replayed with the current document at each change's time; "
        "conditions and mode as recorded by routing")

@dataclass(frozen=True)
class _Shown:
    change: ChangeEvent
    events: list[DerivedEvent]


def why_fired(*, automation: Automation, entity_id: str, since: datetime | None = None,
              limit: int = DEFAULT_LIMIT) -> dict:
    """The last `limit` changes of the entity (since `since`) that reach the automation, trigger by trigger."""
    triggers = automation.document["triggers"]
    listened = {trigger["event"] for trigger in triggers}
    changes = _changes_of(entity_id, since=since, limit=min(max(limit, 1), MAX_LIMIT))
    windows = WindowMemory()
    _warm_windows(automation, entity_id, changes, windows)
    runs = {(run.firing_key, run.trigger_id): run for run in
            Run.objects.filter(automation=automation, firing_key__in=[str(c.change_id) for c in changes])}
    shown = []
    for change in changes:
        events = [d for d in _events_about(change, entity_id) if d.event in listened]
        if events:
            shown.append({**_change_summary(change), "events": [
                {"event": d.event, "context_key": d.context_key, "triggers": [
                    _explain(trigger, _replay(trigger, d, change, windows),
                             runs.get((str(change.change_id), trigger["id"])))
                    for trigger in triggers if trigger["event"] == d.event]}
                for d in events]})
    shown.reverse()  # newest first, as a person reads a history
    return {"automation": str(automation.pk), "context_key": entity_id, "entity_id": entity_id,
            "document_version": automation.version, "note": NOTE, "since": since, "limit": limit,
            "changes": shown, "firings": _firings(shown),
            "armed_dwells": [{"trigger_id": d.trigger_id, "armed_at": d.armed_at, "deadline": d.deadline}
                             for d in Dwell.objects.filter(automation=automation, context_key=entity_id)]}


def _about(entity_id: str) -> Q:
    # Incidents and maintenance windows name their systems in `system_ids`: a text match narrows the rows,
    # _events_about() then keeps only the changes whose derived payload really lists the system.
    return Q(entity_id=entity_id) | Q(next__system_ids__icontains=entity_id)


def _changes_of(entity_id: str, *, since: datetime | None, limit: int) -> list[ChangeEvent]:
    """The latest `limit` changes about the entity, oldest first (the order they are replayed in)."""
    rows = ChangeEvent.objects.filter(_about(entity_id))
    if since is not None:
        rows = rows.filter(occurred_at__gte=since)
    return list(rows.order_by("-occurred_at", "-id")[:limit])[::-1]


def _warm_windows(automation: Automation, entity_id: str, changes: list[ChangeEvent], windows: WindowMemory):
    """Replay, unshown, the changes within a window's reach before the first shown one, so its counts are right."""
    minutes = max((t["window"]["minutes"] for t in automation.document["triggers"] if t.get("window")), default=0)
    if not minutes or not changes:
        return
    first = changes[0]
    earlier = (ChangeEvent.objects.filter(_about(entity_id), occurred_at__gte=first.occurred_at - timedelta(
        minutes=minutes), occurred_at__lte=first.occurred_at).exclude(pk__in=[c.pk for c in changes])
        .order_by("occurred_at", "id"))
    for change in earlier:
        for derived in _events_about(change, entity_id):
            for trigger in automation.document["triggers"]:
                if trigger["event"] == derived.event and trigger.get("window"):
                    _replay(trigger, derived, change, windows)


def _events_about(change: ChangeEvent, entity_id: str) -> list[DerivedEvent]:
    return [d for d in derive_events(as_change(change))
            if change.entity_id == entity_id or entity_id in [str(s) for s in d.payload.get("system_ids") or []]]


def _replay(trigger: dict, derived: DerivedEvent, change: ChangeEvent, windows: WindowMemory) -> TimeGates:
    scope = firing_scope(trigger_id=trigger["id"], event=derived.event, actor=change.actor, payload=derived.payload)
    return replay_time_gates(trigger=trigger, scope=scope, context_key=derived.context_key, depth=change.depth,
                             at=change.occurred_at, windows=windows)


def _explain(trigger: dict, replayed: TimeGates, run: Run | None) -> dict:
    """The trigger's gates in order: the replayed ones, then what the stored run says of the rest."""
    gates = [gate.as_dict() for gate in replayed.gates]
    if replayed.dwell_seconds is not None and run is not None:
        gates[-1] = {"gate": "dwell", "passed": True, "detail": "the dwell held to its deadline"}
    if all(gate["passed"] for gate in gates):
        gates.extend(_recorded(run))
    stopped = next((gate for gate in gates if gate["passed"] is False), None)
    unknown = any(gate["passed"] is None for gate in gates)
    return {"trigger_id": trigger["id"], "gates": gates, "stopped_by": stopped and stopped["gate"],
            "started": False if stopped else (None if unknown else True),
            "run": run and {"id": str(run.pk), "status": run.status, "reason": run.reason or None}}


def _recorded(run: Run | None) -> list[dict]:
    """Conditions and mode as routing decided them, from its run row (None: nothing recorded to tell)."""
    if run is None:
        return [{"gate": "conditions", "passed": None,
                 "detail": "no run recorded: not routed yet, or routed before this trigger had this document"}]
    if run.status != RunStatus.SKIPPED:
        return [{"gate": "conditions", "passed": True, "detail": "held when routing decided"},
                {"gate": "mode", "passed": True, "detail": f"run {run.status}"}]
    gate = run.stopped_by or "mode"  # the gate routing recorded as the one that stopped it
    passed = [{"gate": "conditions", "passed": True, "detail": "held when routing decided"}] if gate == "mode" else []
    return passed + [{"gate": gate, "passed": False, "detail": run.reason}]


def _change_summary(change: ChangeEvent) -> dict:
    return {"change_id": str(change.change_id), "kind": change.kind, "entity_id": change.entity_id,
            "occurred_at": change.occurred_at, "depth": change.depth}


def _firings(shown: list[dict]) -> list[dict]:
    """One line per (change, event, trigger), newest first: the flat list the admin page tabulates."""
    lines = []
    for change in shown:
        for event in change["events"]:
            for trigger in event["triggers"]:
                run, stopped = trigger["run"], trigger["stopped_by"]
                reason = next((g["detail"] for g in trigger["gates"] if g["gate"] == stopped), None)
                lines.append({
                    "run_id": run and run["id"], "change_id": change["change_id"], "event": event["event"],
                    "trigger_id": trigger["trigger_id"], "at": change["occurred_at"],
                    "status": run["status"] if run else _unrecorded_status(stopped),
                    "started": trigger["started"], "reason": run["reason"] if run else reason,
                    "stopped_by": stopped, "gates": trigger["gates"]})
    return lines


def _unrecorded_status(stopped: str | None) -> str:
    # No run row: the filter, loop guard or window stopped it (they write none), a dwell holds it, or
    # routing has not recorded it.
    if stopped is None:
        return "not recorded"
    return "dwell armed" if stopped == "dwell" else "skipped"
