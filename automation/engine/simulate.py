"""Simulate: what an automation would do with a trigger event, gate by gate and step by step, with no
side effect (nothing written, nothing sent; secrets shown as ***)."""

from datetime import datetime

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from ..definitions import action as action_definition
from ..definitions import trigger_filter
from ..expressions.evaluate import ExpressionError, is_true, render_config
from ..masking import MASK
from ..models import ACTIVE_STATUSES, Automation, Dwell, Run, RunStatus, WindowHit
from .gates import (Bucket, Gate, conditions_gate, dwell_gate, filter_gate, loop_guard, mode_gate, partition_key,
                    window_gate, window_start)
from .routing import bucket_of
from .scope import firing_scope
from .trigger_index import index_key_of
from .walker import step_kind


def _expression(text, scope):
    try:
        return is_true(text, scope), None
    except ExpressionError as exc:
        return False, str(exc)


def gates(automation: Automation, trigger: dict, *, event, payload, context_key, depth=0,
          at: datetime | None = None) -> list[dict]:
    """Every gate of the firing in routing's order, each decided by gates.py on today's rows; `at` is the
    window's clock (the change's occurred_at; now for an event typed in)."""
    scope = firing_scope(trigger_id=trigger["id"], event=event, actor="simulate", payload=payload)
    # All gates are shown, not only up to the first that fails: a person fixing one wants to see the next.
    result = [filter_gate(trigger, scope), loop_guard(depth, settings.CHECKSTACK_MAX_CHAIN_DEPTH)]
    if trigger.get("window"):
        result.append(_window(automation, trigger, scope, context_key, at or timezone.now()))
    if trigger.get("for"):
        result.append(_dwell(automation, trigger, scope, context_key))
    result.extend(_conditions(automation.document.get("conditions", []), scope))
    result.append(mode_gate(automation.mode, automation.max_runs, bucket_runs(automation, context_key)).gate)
    return [gate.as_dict() for gate in result]


def _window(automation: Automation, trigger: dict, scope: dict, context_key, at: datetime) -> Gate:
    window = trigger["window"]
    key = partition_key(trigger, scope, context_key)
    count = WindowHit.objects.filter(automation=automation, trigger_id=trigger["id"], partition_key=key,
                                     at__gte=window_start(window, at), at__lte=at).count() + 1
    gate = window_gate(window, count)
    return Gate("window", gate.passed, f"this would be occurrence {count} of {window['count']} in "
                                       f"{window['minutes']} min (partition {key!r})")


def _dwell(automation: Automation, trigger: dict, scope: dict, context_key) -> Gate:
    gate, seconds = dwell_gate(trigger, scope)
    armed = seconds is not None and Dwell.objects.filter(
        automation=automation, trigger_id=trigger["id"], context_key=context_key or "").first()
    if armed:
        return Gate("dwell", False, f"already armed; its deadline {armed.deadline.isoformat()} is kept")
    return gate


def _conditions(conditions: list, scope: dict) -> list[Gate]:
    """One gate per condition (`conditions.<index>`), so the trace points at the one that failed."""
    gates_ = []
    for index, condition in enumerate(conditions):
        gate = conditions_gate([condition], scope)
        gates_.append(Gate(f"conditions.{index}", gate.passed, gate.error or f"{condition} is {gate.passed}"))
    return gates_


def bucket_runs(automation: Automation, context_key: str | None) -> Bucket:
    """The active and pending runs of the firing's bucket, as the mode gate counts them (one query)."""
    counts = Run.objects.filter(bucket=bucket_of(automation, context_key), status__in=ACTIVE_STATUSES).aggregate(
        active=Count("id"), pending=Count("id", filter=Q(status=RunStatus.PENDING)))
    return Bucket(active=counts["active"], pending=counts["pending"])


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
