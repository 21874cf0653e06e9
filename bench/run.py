"""Every benchmark in one command: `python bench/run.py [--quick]` (from the repository, after the README's setup).

Creates the disposable database `checkstack_bench` on the PostgreSQL at 127.0.0.1:5432 when it is missing
(override with BENCH_DATABASE_URL), runs each script (each starts the private Redis and Celery processes it
needs), writes bench/results/latest.json and rewrites BENCHMARKS.md with the table and the machine it ran on.
Its last output line is the JSON object of every figure.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/checkstack_bench")

SCRIPTS = {
    "mutations": (["bench/mutations.py"], ["--seconds", "1"]),
    "timers": (["bench/timers.py", "--sizes", "1000,10000"], ["--sizes", "1000", "--spread", "5"]),
    "routing": (["bench/routing.py", "--levels", "1,100,1000"],
                ["--levels", "1,20", "--samples", "10", "--fleet-levels", "1,5,20", "--fleet-changes", "10",
                 "--fleet-block", "5"]),
    "fleet_throughput": (["bench/fleet_throughput.py"], ["--systems", "8", "--crowd", "12", "--changes", "16"]),
    "engine": (["bench/engine.py"], ["--quick"]),
    "validation": (["bench/validation.py"], ["--samples", "3"]),
    "parallel": (["bench/parallel.py"], ["--quick"]),
    "retention": (["bench/retention.py"], ["--rows", "20000", "--seconds", "2"]),
    "checks": (["bench/checks.py"], ["--quick"]),
    "statuspage": (["bench/statuspage.py"], ["--quick"]),
    "impact": (["bench/impact.py"], ["--systems", "200", "--edges", "600", "--changes", "20"]),
    "channels": (["bench/channels.py"], ["--samples", "5", "--channels", "20"]),
    "backlog": (["bench/backlog.py"], ["--sizes", "500,2000", "--sample", "50"]),
    "slo": (["bench/slo.py"], ["--objectives", "100", "--days", "7", "--today-results", "10"]),
    "probers": (["bench/probers.py"], ["--checks", "100", "--interval", "10", "--seconds", "20"]),
    "check_capacity": (["bench/check_capacity.py"], ["--quick"]),
}


def ensure_database():
    name = DATABASE_URL.rsplit("/", 1)[1]
    exists = subprocess.run(["psql", DATABASE_URL, "-c", "SELECT 1"], capture_output=True).returncode == 0
    if not exists:
        admin_url = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
        subprocess.run(["psql", admin_url, "-c", f'CREATE DATABASE "{name}"'], check=True, capture_output=True)


def run_script(name: str, quick: bool, any_database: bool = False) -> dict:
    args, quick_args = SCRIPTS[name]
    command = [PYTHON, *args, *(quick_args if quick else []), *(["--any-database"] if any_database else [])]
    print(f"== {name}: {' '.join(command[1:])}", flush=True)
    env = {**os.environ, "DATABASE_URL": DATABASE_URL}
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    sys.stdout.write(result.stdout)
    if result.returncode != 0:
        sys.stderr.write(result.stderr[-4000:])
        raise SystemExit(f"bench/{name} failed (exit {result.returncode})")
    return json.loads(result.stdout.strip().splitlines()[-1])


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    redis = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()
    return {"cpus": os.cpu_count(), "cpu": cpu, "python": platform.python_version(), "os": platform.platform(),
            "redis": next((w.split("=")[1] for w in redis if w.startswith("v=")), "?")}


def p50(figure) -> str:
    return f"{figure['p50_ms']} ms / {figure['p99_ms']} ms"


def table(r: dict) -> list[tuple[str, str, str, str]]:
    """(figure, value, baseline, ratio) rows."""
    m, t, rt, e = r["mutations"], r["timers"], r["routing"], r["engine"]
    levels = sorted(int(k.rsplit("_", 1)[1]) for k in rt if k.startswith("commit_to_first_action_"))
    rows = [
        ("PostgreSQL single-row INSERT + COMMIT", f"{e['postgres_insert_commit_per_s']}/s", "baseline", ""),
        ("Celery no-op round trip p50 / p99", p50(e["noop_round_trip"]), "baseline", ""),
        ("Celery no-op throughput (worker -c 2)", f"{e['noop_tasks_per_s']}/s", "baseline", ""),
        ("Mutations through the service, 1 thread", f"{m['service_1t']}/s", f"update() {m['plain_1t']}/s",
         f"{m['ratio_1t']}"),
        ("Mutations through the service, 8 threads", f"{m['service_8t']}/s", f"update() {m['plain_8t']}/s",
         f"{m['ratio_8t']}"),
        ("Queries per mutation (1 / 2 / 3 fields)", " / ".join(str(v) for v in m["queries_per_mutation"].values()),
         "", "flat"),
        ("Commit → change routed, fast path", p50(e["commit_to_routed_fast_path"]),
         f"no-op p50 {e['noop_round_trip']['p50_ms']} ms", f"{e['ratio_routed_vs_noop_p50']}"),
        ("Commit → change routed, sweeper only (grace 1 s, sweep 1 s)", p50(e["commit_to_routed_sweeper_only"]),
         "", ""),
        ("Commit → first action started, sweeper only (grace 1 s, sweep 1 s)",
         p50(e["commit_to_first_action_sweeper_only"]), "", ""),
    ]
    for level in levels:
        figure = rt[f"commit_to_first_action_{level}"]
        rows.append((f"Commit → first action started, {level} enabled automation(s)", p50(figure),
                     f"no-op p50 {rt['noop_round_trip']['p50_ms']} ms",
                     f"{round(figure['p50_ms'] / rt['noop_round_trip']['p50_ms'], 1)}"))
    rows += [
        (f"Routing cost, {levels[-1]} vs {levels[0]} automations (p50)", "", "", f"{rt['ratio_crowded_vs_alone_p50']}"),
        *fleet_rows(rt["fleet"], r["fleet_throughput"]),
        ("End-to-end runs/s of a one-step automation at saturation (target ratio ≥ 0.2)",
         f"{e['runs_per_s_saturation']}/s", f"no-op {e['noop_tasks_per_s']}/s",
         f"{e['ratio_runs_vs_noop_throughput']}"),
    ]
    crowd = next(k for k in e if k.startswith("wake_latency_") and k != "wake_latency_10_waiting")
    rows += [
        ("Wake latency, 10 unrelated waiting runs", p50(e["wake_latency_10_waiting"]), "", ""),
        (f"Wake latency, {crowd.split('_')[2]} unrelated waiting runs", p50(e[crowd]), "10 waiting",
         f"{e['ratio_wake_crowded_vs_10_p50']}"),
    ]
    for timers in t["results"]:
        rows.append((f"Timer lateness p50 / p99, {timers['pending']} pending",
                     f"{timers['lateness_p50_s']} s / {timers['lateness_p99_s']} s (sweep {timers['sweep_p50_s']} s)",
                     f"target p99 ≤ {t['target_p99_s']} s",
                     f"{round(timers['lateness_p99_s'] / t['target_p99_s'], 2)}"))
    rows.append(("200-step document validated", f"{e['validate_200_steps_ms']} ms", "target 200 ms",
                 f"{round(e['validate_200_steps_ms'] / 200, 3)}"))
    return rows + later_rows(r)


def impact_rows(r: dict) -> list[tuple[str, str, str, str]]:
    """A change's impact recomputed on a large dependency graph (absent from results made before it existed)."""
    if "impact" not in r:
        return []
    i = r["impact"]
    return [
        (f"Impact of a health change recomputed, {i['systems']} systems and {i['edges']} edges (p50 / p99)",
         p50(i["recompute"]), f"target < {i['target_ms']} ms",
         f"{round(i['recompute']['p99_ms'] / i['target_ms'], 2)}"),
        (f"Health report with every dependent's impact written (up to {i['dependents_reached']['max']} dependents)",
         p50(i["report_with_impact_writes"]), "", ""),
    ]


def later_rows(r: dict) -> list[tuple[str, str, str, str]]:
    """Validation budgets, parallel branches, the retention purge, checks, impact and channels."""
    v, par, ret, c = r["validation"], r["parallel"], r["retention"], r["checks"]
    return impact_rows(r) + [
        ("Validation p99 over the hostile corpus (huge powers and products, nested range, deep nesting, "
         "1 MiB documents)", f"{v['validation_p99_ms']} ms", f"valid document p99 {v['baseline_valid_p99_ms']} ms",
         f"{round(v['validation_p99_ms'] / v['target_ms'], 2)} of the {v['target_ms']} ms target"),
        ("Parallel of 2 branches each waiting on a 2 s receiver (p50)", f"{par['parallel_of_two_p50_s']} s",
         f"one branch alone {par['one_branch_alone_p50_s']} s", f"{par['ratio_parallel_vs_alone_p50']} (target ≤ 1.2)"),
        (f"Retention purge of {ret['rows_populated']} expired rows while routing continues",
         f"{ret['purge_rows_per_s']} rows/s", f"routing p50 before {ret['routing_p50_before_ms']} ms",
         f"routing p50 during ÷ before {ret['routing_p50_ratio']}"),
        (f"Check start lateness p50 / p99, {c['checks']} HTTP checks every {c['interval_s']} s",
         f"{c['lateness_p50_s']} s / {c['lateness_p99_s']} s", f"target p99 ≤ {c['target_p99_s']} s",
         f"{round(c['lateness_p99_s'] / c['target_p99_s'], 2)}"),
        (f"Health transitions written vs status changes ({c['flipped']} systems flipped down and up)",
         f"{c['transitions_written']}", f"{c['status_changes']} status changes",
         "equal" if c["transitions_written"] == c["status_changes"] else "DIFFERENT"),
        *statuspage_rows(r.get("statuspage")),
        *channel_rows(r.get("channels")),
        *backlog_rows(r.get("backlog")),
        *slo_rows(r.get("slo")),
        *prober_rows(r.get("probers")),
        *capacity_rows(r.get("check_capacity")),
    ]


def slo_rows(s: dict | None) -> list[tuple[str, str, str, str]]:
    """The SLO evaluation pass at scale (absent from runs made before bench/slo.py was wired in)."""
    if s is None:
        return []
    return [
        (f"SLO evaluation pass, {s['objectives']} objectives over {s['days']} days of roll-ups (median of 5)",
         f"{s['pass_s']} s", "target ≤ 1 s", f"{s['pass_s']}"),
        ("SLO statements: a whole pass over every objective / the figures of a tenth of them",
         f"{s['statements_per_pass']} / {s['statements_tenth']}", "", "none per objective"),
    ]


def prober_rows(p: dict | None) -> list[tuple[str, str, str, str]]:
    """Remote probers' results ingested by the core (absent before bench/probers.py was run by this script)."""
    if p is None:
        return []
    return [
        (f"Probers: {p['locations']} × {p['checks']} HTTP checks every {p['interval_s']} s, results ingested",
         f"{p['results_per_s']}/s; core CPU {p['core_cpu_s_per_1000_results']} s per 1,000 results",
         f"expected {round(p['expected'] / p['window_s'], 1)}/s",
         f"{round(p['results_per_s'] * p['window_s'] / max(1, p['expected']), 2)}"),
        ("Probers: start lateness p50 / p99", f"{p['lateness_p50_s']} s / {p['lateness_p99_s']} s",
         f"target p99 ≤ {p['target_p99_s']} s", f"{round(p['lateness_p99_s'] / p['target_p99_s'], 2)}"),
    ]


def capacity_rows(c: dict | None) -> list[tuple[str, str, str, str]]:
    """Checks per second one worker process sustains (absent before bench/check_capacity.py existed)."""
    if c is None:
        return []
    return [
        (f"Check capacity of one worker process (HTTP, {c['answer_ms']:.0f} ms answers; target ≥ "
         f"{c['target_per_s']}/s)", f"{c['capacity_per_s']}/s",
         f"one message per check, one probe at a time {c['baseline_capacity_per_s']}/s", f"{c['ratio_vs_baseline']}"),
        ("Check start lateness p50 / p99 at 80 % of that capacity",
         f"{c['at_80_percent_lateness_p50_s']} s / {c['at_80_percent_lateness_p99_s']} s",
         f"target p99 ≤ {c['target_p99_s']} s",
         f"{round((c['at_80_percent_lateness_p99_s'] or 0) / c['target_p99_s'], 2)}"),
    ]


def backlog_rows(b: dict | None) -> list[tuple[str, str, str, str]]:
    """Routing drain rate by backlog size and planner statistics (absent before bench/backlog.py existed)."""
    if b is None:
        return []
    sizes = sorted(int(k) for k in b if k.isdigit())
    rows = [(f"Backlog of {size} unrouted changes drained: never analyzed / stale / fresh statistics",
             " / ".join(f"{b[str(size)][mode]}/s" for mode in ("never_analyzed_per_s", "stale_per_s", "fresh_per_s")),
             "", "") for size in sizes]
    rows.append(("Backlog drain rate, slowest ÷ fastest over every size and statistics", "", "",
                 f"{b['spread_slowest_vs_fastest']} (target ≥ 0.8)"))
    return rows


def statuspage_rows(sp: dict | None) -> list[tuple[str, str, str, str]]:
    """The public page at scale (absent from runs made before bench/statuspage.py existed)."""
    if not sp:
        return []
    size = f"{sp['systems']} systems in {sp['groups']} groups, 90-day bars, {sp['incidents']} incidents in history"
    page, summary = sp["status_uncached"], sp["summary_uncached"]
    return [
        (f"/status/ uncached render p50 / p99, {size}", f"{page['p50_ms']} ms / {page['p99_ms']} ms",
         f"target p50 ≤ {sp['target_uncached_p50_ms']} ms",
         f"{round(page['p50_ms'] / sp['target_uncached_p50_ms'], 2)}"),
        ("/status/summary.json uncached p50 / p99, same data", f"{summary['p50_ms']} ms / {summary['p99_ms']} ms",
         "", ""),
        ("/status/ under gunicorn -w 2, cache headers honoured (Django's cache middleware)",
         f"{sp['gunicorn_cached_per_s']} req/s", f"every request rendered {sp['gunicorn_rendered_per_s']} req/s",
         f"{round(sp['gunicorn_cached_per_s'] / sp['target_cached_per_s'], 2)} of the "
         f"{sp['target_cached_per_s']}/s target"),
    ]


def channel_rows(ch: dict | None) -> list[tuple[str, str, str, str]]:
    """Notification channels: change → message at a local receiver, routing while a receiver hangs."""
    if ch is None:
        return []
    n = ch["channels"]
    many, last = ch[f"change_to_message_{n}_channels"], ch[f"change_to_last_of_{n}"]
    return [
        ("Change → channel message, 1 channel wanting it", p50(ch["change_to_message_1_channel"]),
         "target p99 ≤ 2 s", f"{round(ch['change_to_message_1_channel']['p99_ms'] / 2000, 2)}"),
        (f"Change → channel message, {n} channels wanting it (each / the last)", f"{p50(many)} / {p50(last)}",
         "target p99 ≤ 2 s", f"{round(last['p99_ms'] / 2000, 2)}"),
        ("Commit → routed p50 while one channel's receiver hangs", f"{ch['commit_to_routed_one_hanging']['p50_ms']} ms",
         f"none hanging {ch['commit_to_routed_none_hanging']['p50_ms']} ms",
         f"{ch['ratio_routed_hanging_vs_none_p50']} (target ≤ 1.1)"),
    ]


def fleet_rows(fleet: dict, throughput: dict) -> list[tuple[str, str, str, str]]:
    """The fleet case: N automations on the same event, each filtering on its own system, one matching."""
    levels = sorted(int(k) for k in fleet if k.isdigit())
    rows = []
    for level in levels:
        f = fleet[str(level)]
        rows.append((f"Fleet: report + route in-process, {level} automation(s) on the event, 1 matching",
                     f"{p50(f)}; {f['run_rows_per_change']} Run rows ({f['run_bytes_per_change']} B) per change",
                     f"1 automation p50 {fleet[str(levels[0])]['p50_ms']} ms",
                     f"{round(f['p50_ms'] / fleet[str(levels[0])]['p50_ms'], 2)}"))
    rows[-1] = (*rows[-1][:3], f"{rows[-1][3]} (target ≤ 1.3)")
    if "saves" in fleet:
        saves = fleet["saves"]
        rows.append((f"Fleet: automation save with {levels[-1]} installed (last creations p50; an edit p50 / p99)",
                     f"{saves['create_last_p50_ms']} ms; {p50(saves['edit_at_full_fleet'])}",
                     f"first creations p50 {saves['create_first_p50_ms']} ms",
                     f"{saves['ratio_create_last_vs_first_p50']} (peak RSS {saves['peak_rss_mb']} MB)"))
    crowd = throughput["crowd"]
    for workers in (1, 2):
        with_, without = throughput[f"with_{workers}w"], throughput[f"without_{workers}w"]
        rows.append((f"Fleet: health changes routed per second, {workers} worker process(es), "
                     f"{throughput['systems']} + {crowd} automations on the event",
                     f"{with_['routed_per_s']}/s", f"{throughput['systems']} automations {without['routed_per_s']}/s",
                     f"{throughput[f'ratio_with_crowd_vs_without_{workers}w']}" + (" (target ≥ 0.8)" if workers == 1
                                                                                    else "")))
    return rows


def remeasured(info: dict) -> str:
    """The header's note of the scripts re-run with `--only` after the full run, and when (and `note`, a
    sentence kept in latest.json's `machine`, e.g. a script's figures before a change)."""
    runs = info.get("partial_runs")
    note = f"{info['note']} " if info.get("note") else ""
    return (f"Re-measured since with `--only`: {', '.join(f'{k} ({v})' for k, v in runs.items())}. {note}"
            if runs else note)


def write_markdown(results: dict, info: dict, quick: bool) -> str:
    lines = ["# Benchmarks", "",
             f"Latest `python bench/run.py{' --quick' if quick else ''}` on {info['when']}: {info['cpus']} CPUs "
             f"({info['cpu']}), Python {info['python']}, PostgreSQL {results['engine']['postgres']}, Redis "
             f"{info['redis']}, {info['os']}. Ratios are against the baseline measured in the same run. "
             + remeasured(info)
             + "Raw figures: `bench/results/latest.json`; what each script measures: `bench/README.md`.", "",
             "| Figure | Value | Baseline | Ratio |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in table(results)]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run; BENCHMARKS.md unchanged)")
    parser.add_argument("--only", help="comma-separated subset of: " + ",".join(SCRIPTS))
    parser.add_argument("--any-database", action="store_true",
                        help="let the scripts write to a BENCH_DATABASE_URL whose name lacks 'bench' (disposable)")
    args = parser.parse_args()
    ensure_database()
    names = args.only.split(",") if args.only else list(SCRIPTS)
    results = {name: run_script(name, args.quick, args.any_database) for name in names}
    info = {**machine(), "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    out = ROOT / "bench" / "results" / ("quick.json" if args.quick else "latest.json")
    partial = set(names) != set(SCRIPTS)
    if partial and not args.quick and out.exists():
        # A subset re-measured on the same machine: its figures replace those scripts' in the last full run,
        # and the header says which scripts are newer. Ratios stay within one script's own run.
        previous = json.loads(out.read_text())
        ran = previous["machine"].get("partial_runs", {})
        ran.update({name: info["when"] for name in names})
        info = {**previous["machine"], "partial_runs": ran}
        results = {**{k: v for k, v in previous.items() if k in SCRIPTS}, **results}
    if set(results) == set(SCRIPTS):
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps({"machine": info, "quick": args.quick, **results}, indent=2) + "\n")
        markdown = write_markdown(results, info, args.quick)
        print(markdown)
        if not args.quick:
            (ROOT / "BENCHMARKS.md").write_text(markdown)
    print(json.dumps({"machine": info, "quick": args.quick, **results}))


if __name__ == "__main__":
    main()
