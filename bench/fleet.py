"""The fleet case of bench/routing.py (see its docstring): N automations on the same event, each filtering on
its own system, one matching; also the fleet bench/fleet_throughput.py builds."""

import itertools
import statistics
import time
import uuid

from routing import PREFIX, bench_user, route_in_process, summary

FLEET_EVENT = "healthcheck.system_health_changed"


def fleet_document(index: int, system_id, *, enabled: bool) -> dict:
    """The per-system automation an operator installs N times: a filter on its own system, one no-op step."""
    return {"name": f"{PREFIX}fleet-{index:05d}", "enabled": enabled, "mode": "parallel", "max_runs": 1000,
            "triggers": [{"event": FLEET_EVENT, "filter": f"trigger.payload.system_id == '{system_id}'"}],
            "actions": [{"action": "automation.log", "config": {"message": "health changed"}}]}


SAVES = []  # seconds of each automation_create of the last create_fleet, in order (save time by fleet size)


def create_fleet(size: int, *, enabled: int, start: int = 0) -> tuple[list, list]:
    """`size` systems, each with its automation; the first `enabled` automations enabled. Returns both lists.
    Each automation_create's time is kept in SAVES (the n-th save meets n - 1 automations on the event)."""
    from automation.documents.validate import validate_document
    from automation.services.automations import automation_create
    from catalog.services import system_create

    systems, automations = [], []
    SAVES.clear()
    for index in range(start, start + size):
        system = system_create(name=f"{PREFIX}fleet-{index:05d}-{uuid.uuid4().hex[:6]}", actor="bench")
        result = validate_document(fleet_document(index, system.pk, enabled=index - start < enabled))
        assert not result.errors, result.errors
        systems.append(system)
        started = time.perf_counter()
        automations.append(automation_create(document=result.document, actor="bench", run_as=bench_user()))
        SAVES.append(time.perf_counter() - started)
    return systems, automations


def save_figures(automations: list, *, samples: int = 20) -> dict:
    """Automation save time with the whole fleet installed: its first and last creations (p50 of `samples`
    each), then `samples` edits (a new version, its index rows rewritten) of the last automation; and this
    process's peak RSS. The index rows of one automation are rewritten per save, never the whole index."""
    import resource

    from automation.services.automations import automation_update

    edits, automation = [], automations[-1]
    for index in range(samples):
        document = {**automation.document, "description": f"edit {index}"}
        started = time.perf_counter()
        automation = automation_update(automation=automation, document=document, actor="bench")
        edits.append(time.perf_counter() - started)
    first, last = summary(SAVES[:samples]), summary(SAVES[-samples:])
    return {"create_first_p50_ms": first["p50_ms"], "create_last_p50_ms": last["p50_ms"],
            "edit_at_full_fleet": summary(edits), "ratio_create_last_vs_first_p50":
            round(last["p50_ms"] / first["p50_ms"], 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def fleet_enable(automations: list, *, enabled: int, currently: int) -> None:
    """Enable the first `enabled` automations of the fleet and disable the rest, through the service (a
    version each, as an operator's bulk action would write), toggling only those between the two counts."""
    from automation.services.automations import automation_set_enabled

    low, high = sorted((enabled, currently))
    for automation in automations[low:high]:
        automation_set_enabled(automation=automation, enabled=enabled > currently, actor="bench")


def fleet_change(system, status: str) -> dict:
    """Report one health change of `system` and route it, in this process; its cost and the Run rows it wrote.

    Routing runs inside runs_woken_here(), as the worker's task does, so the run it starts is collected rather
    than published; it is walked afterwards, off the clock, so the next change meets no active run.
    """
    from django.db import connection, transaction

    from automation.engine.runs.runner import run_advance
    from automation.engine.runs.wakeups import runs_woken_here
    from automation.entities.delivery import route_change_event
    from automation.models import ChangeEvent, Run
    from catalog.services import health_report

    started = time.perf_counter()
    with transaction.atomic():
        health_report(system=system, status=status, actor="bench")
    reported = time.perf_counter() - started
    change_id = str(ChangeEvent.objects.filter(kind="health", entity_id=str(system.pk)).latest("id").change_id)
    started = time.perf_counter()
    with runs_woken_here() as woken:
        route_change_event(change_id)
    routed = time.perf_counter() - started
    for wake_up in woken:
        run_advance(run_id=wake_up.run_id, resume=wake_up.resume)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), count(*) FILTER (WHERE status <> 'skipped'), "
                       f"coalesce(sum(pg_column_size(r.*)), 0) FROM {Run._meta.db_table} r WHERE firing_key = %s",
                       [change_id])
        rows, started_runs, size = cursor.fetchone()
    return {"seconds": reported + routed, "run_rows": rows, "runs_started": started_runs, "run_bytes": size}


def fleet_order(levels: list[int], changes: int, block: int) -> list[int]:
    """Blocks of `block` changes per level in mirrored rounds (1, 100, 1000, 1000, 100, 1, ...): every level
    is measured throughout the run, a drift of the machine's load falls on all levels alike, and the largest
    level's blocks are back to back so half of the switches toggle nothing."""
    rounds = -(-changes // block)
    order = []
    for round_index in range(rounds):
        order += levels if round_index % 2 == 0 else levels[::-1]
    return order


def fleet_case(levels: list[int], *, changes: int, block: int, warmup: int = 2) -> dict:
    """p50/p99 of report + route, and Run rows and bytes per change, at each level, interleaved."""
    import logging

    logging.getLogger("checkstack.automation").setLevel(logging.WARNING)  # automation.log's line, once per change
    systems, automations = create_fleet(max(levels), enabled=levels[0])
    route_in_process()
    matching, current, samples = systems[0], levels[0], {level: [] for level in levels}
    status = itertools.cycle(["degraded", "healthy"])
    for level in fleet_order(levels, changes, block):
        fleet_enable(automations, enabled=level, currently=current)
        current = level
        route_in_process()
        for _ in range(warmup):  # the first changes after a switch meet cold caches of the toggled rows
            fleet_change(matching, next(status))
        for _ in range(min(block, changes - len(samples[level]))):
            samples[level].append(fleet_change(matching, next(status)))
    out = {}
    for level, values in samples.items():
        seconds = [v["seconds"] for v in values]
        out[str(level)] = {**summary(seconds), "changes": len(values),
                           "run_rows_per_change": round(statistics.mean(v["run_rows"] for v in values), 2),
                           "runs_started_per_change": round(statistics.mean(v["runs_started"] for v in values), 2),
                           "run_bytes_per_change": round(statistics.mean(v["run_bytes"] for v in values))}
    out["ratio_p50_largest_vs_1"] = round(out[str(levels[-1])]["p50_ms"] / out[str(levels[0])]["p50_ms"], 2)
    out["saves"] = save_figures(automations)
    route_in_process()
    return out
