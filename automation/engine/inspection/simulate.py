"""Simulate: what an automation would do with a trigger event, gate by gate and step by step, with no
side effect (nothing written, nothing sent; secrets shown as ***)."""

from datetime import datetime

from django.utils import timezone

from ...definitions import action as action_definition
from ...definitions import trigger_filter
from ...expressions.evaluate import ExpressionError, is_true, render_config
from ...masking import MASK
from ...models import Automation, Dwell, WindowHit
from ..firing.gates import Bucket, Gate, conditions_gate, window_gate, window_start
from ..firing.pipeline import GateFacts, Judged, gates_judge
from ..firing.routing import bucket_counts, bucket_of
from ..firing.trigger_index import index_key_of
from ..runs.step_paths import step_kind
from ..scope import firing_scope


def _expression(text, scope):
    try:
        return is_true(text, scope), None
    except ExpressionError as exc:
        return False, str(exc)


def gates(automation: Automation, trigger: dict, *, event, payload, context_key, depth=0,
          at: datetime | None = None) -> list[dict]:
    """Every gate of the firing in routing's order (the pipeline routing uses), each decided on today's rows
    read-only; `at` is the window's clock (the change's occurred_at; now for an event typed in)."""
    scope = firing_scope(trigger_id=trigger["id"], event=event, actor="simulate", payload=payload)
    judged = Judged(trigger=trigger, scope=scope, context_key=context_key, depth=depth, at=at or timezone.now(),
                    conditions=automation.document.get("conditions", []), mode=automation.mode,
                    max_runs=automation.max_runs)
    # All gates are shown, not only up to the first that fails: a person fixing one wants to see the next.
    verdict = gates_judge(judged, ReadOnlyFacts(automation), all_gates=True)
    return [gate.as_dict() for gate in verdict.gates]


class ReadOnlyFacts(GateFacts):
    """The gates' facts from today's rows, read and never written: the window's occurrences with this one
    added, an armed dwell, the bucket's runs as routing counts them."""

    def __init__(self, automation: Automation):
        self.automation = automation

    def window(self, judged, key):
        window, at = judged.trigger["window"], judged.at
        count = WindowHit.objects.filter(automation=self.automation, trigger_id=judged.trigger["id"],
                                         partition_key=key, at__gte=window_start(window, at), at__lte=at).count() + 1
        gate = window_gate(window, count)
        return Gate("window", gate.passed, f"this would be occurrence {count} of {window['count']} in "
                                           f"{window['minutes']} min (partition {key!r})")

    def dwell(self, judged, gate, seconds):
        armed = seconds is not None and Dwell.objects.filter(
            automation=self.automation, trigger_id=judged.trigger["id"], context_key=judged.context_key or "").first()
        if armed:
            return Gate("dwell", False, f"already armed; its deadline {armed.deadline.isoformat()} is kept")
        return gate

    def conditions(self, judged):
        """One gate per condition (`conditions.<index>`), so the trace points at the one that failed."""
        gates_ = []
        for index, condition in enumerate(judged.conditions):
            gate = conditions_gate([condition], judged.scope)
            gates_.append(Gate(f"conditions.{index}", gate.passed, gate.error or f"{condition} is {gate.passed}"))
        return gates_

    def bucket(self, judged):
        return bucket_runs(self.automation, judged.context_key)


def bucket_runs(automation: Automation, context_key: str | None) -> Bucket:
    """The active and pending runs of the firing's bucket, counted as routing counts them."""
    return bucket_counts(bucket_of(automation, context_key))


def _steps(steps, base, scope, out, lane=None):
    for index, step in enumerate(steps or []):
        _step(step, f"{base}.{index}", scope, out, lane)


def _step(step, path, scope, out, lane):
    """One step's entry (and its nested steps'), with the walker's path; `lane`: the parallel branch it is in."""
    kind = step_kind(step)
    entry = {"path": path, "kind": kind, "enabled": step.get("enabled", True)}
    if lane is not None:
        entry["lane"] = lane
    if kind == "action":
        entry["action"] = step["action"]
        definition = action_definition(step["action"])
        try:
            entry["config"] = render_config(step.get("config") or {}, scope, secret_resolver=lambda name: MASK)
        except ExpressionError as exc:
            entry["config_error"] = str(exc)
        entry["produces"] = definition.produces if definition else None
    out.append(entry)
    if kind == "choose":
        branch = next((i for i, o in enumerate(step["choose"]) if _expression(o["when"], scope)[0]), "else")
        entry["branch"] = branch
        nested = step.get("else") if branch == "else" else step["choose"][branch]["sequence"]
        _steps(nested, f"{path}.else" if branch == "else" else f"{path}.choose.{branch}.sequence", scope, out,
               lane)
    elif kind == "sequence":
        _steps(step["sequence"], f"{path}.sequence", scope, out, lane)
    elif kind == "repeat":
        _steps(step["repeat"].get("sequence"), f"{path}.repeat.sequence", scope, out, lane)
    elif kind == "parallel":
        # The branches run side by side: each entry names its lane; paths are the walker's (the run's rows').
        entry["branches"] = len(step["parallel"])
        for b, branch in enumerate(step["parallel"]):
            if isinstance(branch, list):
                _steps(branch, f"{path}.parallel.{b}.sequence", scope, out, f"{path}.parallel.{b}")
            else:
                _step(branch, f"{path}.parallel.{b}", scope, out, f"{path}.parallel.{b}")


def simulate(automation: Automation, *, event: str, payload: dict, trigger_id: str | None = None,
             context_key: str | None = None, depth: int = 0, at: datetime | None = None) -> dict:
    """The trace of what routing and the walker would do with this event (reads only)."""
    triggers = [t for t in automation.document["triggers"]
                if (trigger_id and t["id"] == trigger_id) or (not trigger_id and t["event"] == event)]
    if not triggers:
        return {"matched": False, "detail": f"no trigger of this automation listens to {event!r}", "traces": []}
    traces = []
    for trigger in triggers:
        trace_gates = gates(automation, trigger, event=event, payload=payload, context_key=context_key,
                            depth=depth, at=at)
        scope = firing_scope(trigger_id=trigger["id"], event=event, actor="simulate", payload=payload)
        steps = []
        _steps(automation.document.get("actions"), "actions", scope, steps)
        traces.append({"trigger_id": trigger["id"], "index_key": index_key_of(trigger_filter(trigger)),
                       "gates": trace_gates,
                       "would_start": all(g["passed"] for g in trace_gates), "steps": steps})
    return {"matched": True, "enabled": automation.enabled, "traces": traces}
