"""Simulate: what an automation would do with a trigger event, gate by gate and step by step, with no
side effect (nothing written, nothing sent; secrets shown as ***)."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from ..definitions import action as action_definition
from ..expressions.evaluate import ExpressionError, is_true, render_config
from ..masking import MASK
from ..models import ACTIVE_STATUSES, Automation, Dwell, Run, WindowHit
from .conditions import condition_holds
from .durations import DurationError, duration_seconds
from .routing import bucket_of
from .scope import firing_scope
from .windows import partition_key, window_outcome
from .trigger_index import index_key_of
from .walker import step_kind


def _gate(name, passed, detail):
    return {"gate": name, "passed": passed, "detail": detail}


def _expression(text, scope):
    try:
        return is_true(text, scope), None
    except ExpressionError as exc:
        return False, str(exc)


def gates(automation: Automation, trigger: dict, *, event, payload, context_key, depth=0) -> list[dict]:
    scope = firing_scope(trigger_id=trigger["id"], event=event, actor="simulate", payload=payload)
    result = [_gate("loop guard", depth <= settings.CHECKSTACK_MAX_CHAIN_DEPTH,
                    f"causal depth {depth} (limit {settings.CHECKSTACK_MAX_CHAIN_DEPTH})")]
    if trigger.get("filter"):
        passed, error = _expression(trigger["filter"], scope)
        result.append(_gate("filter", passed, error or f"{trigger['filter']} is {passed}"))
    if trigger.get("window"):
        window = trigger["window"]
        key = partition_key(type("F", (), {"trigger": trigger, "context_key": context_key})(), scope)
        start = timezone.now() - timedelta(minutes=window["minutes"])
        count = WindowHit.objects.filter(automation=automation, trigger_id=trigger["id"], partition_key=key,
                                         at__gte=start).count() + 1
        passed = window_outcome(count, window) is None
        result.append(_gate("window", passed, f"this would be occurrence {count} of {window['count']} in "
                                              f"{window['minutes']} min (partition {key!r})"))
    if trigger.get("for"):
        try:
            seconds = duration_seconds(trigger["for"], scope)
        except (DurationError, ExpressionError) as exc:
            result.append(_gate("dwell", False, f"bad duration: {exc}"))
        else:
            armed = Dwell.objects.filter(automation=automation, trigger_id=trigger["id"],
                                         context_key=context_key or "").first()
            detail = (f"already armed; its deadline {armed.deadline.isoformat()} is kept" if armed else
                      f"would arm a {seconds}s dwell; the run starts at the deadline if the condition held")
            result.append(_gate("dwell", False, detail))
    for index, condition in enumerate(automation.document.get("conditions", [])):
        try:
            passed, error = condition_holds(condition, scope), None
        except ExpressionError as exc:
            passed, error = False, str(exc)
        result.append(_gate(f"conditions.{index}", passed, error or f"{condition} is {passed}"))
    active = Run.objects.filter(bucket=bucket_of(automation, context_key), status__in=ACTIVE_STATUSES).count()
    mode_passes = {"single": active == 0, "parallel": active < automation.max_runs}.get(automation.mode, True)
    detail = f"mode {automation.mode}: {active} active run(s) in its bucket"
    if automation.mode == "restart" and active:
        detail += "; they would be cancelled"
    result.append(_gate("mode", mode_passes, detail))
    return result


def _steps(steps, base, scope, out):
    for index, step in enumerate(steps or []):
        path = f"{base}.{index}"
        kind = step_kind(step)
        entry = {"path": path, "kind": kind, "enabled": step.get("enabled", True)}
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
            _steps(nested, f"{path}.else" if branch == "else" else f"{path}.choose.{branch}.sequence", scope, out)
        elif kind == "sequence":
            _steps(step["sequence"], f"{path}.sequence", scope, out)
        elif kind == "repeat":
            _steps(step["repeat"].get("sequence"), f"{path}.repeat.sequence", scope, out)
        elif kind == "parallel":
            for b, branch in enumerate(step["parallel"]):
                _steps(branch if isinstance(branch, list) else [branch], f"{path}.parallel.{b}", scope, out)


def simulate(automation: Automation, *, event: str, payload: dict, trigger_id: str | None = None,
             context_key: str | None = None) -> dict:
    """The trace of what routing and the walker would do with this event (reads only)."""
    triggers = [t for t in automation.document["triggers"]
                if (trigger_id and t["id"] == trigger_id) or (not trigger_id and t["event"] == event)]
    if not triggers:
        return {"matched": False, "detail": f"no trigger of this automation listens to {event!r}", "traces": []}
    traces = []
    for trigger in triggers:
        trace_gates = gates(automation, trigger, event=event, payload=payload, context_key=context_key)
        scope = firing_scope(trigger_id=trigger["id"], event=event, actor="simulate", payload=payload)
        steps = []
        _steps(automation.document.get("actions"), "actions", scope, steps)
        traces.append({"trigger_id": trigger["id"], "index_key": index_key_of(trigger.get("filter")), "gates": trace_gates,
                       "would_start": all(g["passed"] for g in trace_gates), "steps": steps})
    return {"matched": True, "enabled": automation.enabled, "traces": traces}
