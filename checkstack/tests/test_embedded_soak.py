"""Soak: the run command's processes on the embedded defaults hold under steady writes (issue 19).

Web (gunicorn), worker and beat under dev.py's supervisor, on SQLite and the embedded broker in a fresh
folder. First the embedded capacity is measured (a burst of health reports, timed until every change is
routed and every run ended); then three writer processes report health for 60 s (5 min with --full) at
about half of it while automations react, one broadcast subscriber among the subscribers. Nothing may die
or restart, and everything must be routed, broadcast and ended within 60 s of the last write.
"""

import json
import subprocess
import sys
import threading
import time
import uuid

import pytest

from testing.embedded_stack import BASE_DIR, EmbeddedStack, api, embedded_env, set_up, wait_until

pytestmark = pytest.mark.integration

BURST = 60  # health reports in the capacity burst
WRITERS = 3
DRAIN_SECONDS = 60
ACTIVE = "('pending', 'running', 'waiting')"


@pytest.fixture
def stack(tmp_path):
    broadcast_log = tmp_path / "broadcasts.log"
    broadcast_log.touch()
    # The run command's environment: DEBUG on, as `dev.py run` sets it.
    env = embedded_env(tmp_path / "var", DEBUG="true", CHECKSTACK_TEST_BROADCAST_LOG=broadcast_log)
    token = set_up(env)
    # The repository's Procfile; the worker also loads the test's broadcast subscriber.
    procfile = "".join(
        line + (" -I checkstack.tests.embedded_worker_plugin" if line.startswith("worker:") else "") + "\n"
        for line in (BASE_DIR / "Procfile").read_text().splitlines() if line.strip()
    )
    running = EmbeddedStack(tmp_path, env, procfile).start()
    running.token, running.broadcast_log = token, broadcast_log
    yield running
    running.stop()


def settled(stack) -> bool:
    """Every change routed, every run ended and every health change broadcast."""
    [(unrouted,)] = stack.query("SELECT COUNT(*) FROM automation_changeevent WHERE routed_at IS NULL")
    [(active,)] = stack.query(f"SELECT COUNT(*) FROM automation_run WHERE status IN {ACTIVE}")
    return unrouted == 0 and active == 0 and not missing_broadcasts(stack)


def missing_broadcasts(stack) -> set:
    health = {uuid.UUID(row[0]) for row in stack.query("SELECT change_id FROM automation_changeevent "
                                                       "WHERE kind = 'health'")}
    seen = {uuid.UUID(line) for line in stack.broadcast_log.read_text().split()}
    return health - seen


def burst(stack, system_ids: list[str], count: int) -> None:
    """`count` health reports as fast as three clients can send them, each flipping its system's status."""
    def client(system_id, n):
        for i in range(n):
            api(stack.url, stack.token, "POST", f"/api/v1/systems/{system_id}/health/",
                {"status": "unhealthy" if i % 2 == 0 else "healthy"})
    threads = [threading.Thread(target=client, args=(sid, count // len(system_ids))) for sid in system_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def soak(stack, seconds: float, report):
    # Given systems, automations reacting to their health, and the broadcast subscriber in the worker
    systems = [api(stack.url, stack.token, "POST", "/api/v1/systems/", {"name": f"soak-{i}"})["id"]
               for i in range(WRITERS * 2)]
    for i in range(3):
        api(stack.url, stack.token, "POST", "/api/v1/automations/", {
            "name": f"soak-{i}", "triggers": [{"event": "healthcheck.system_health_changed"}],
            "actions": [{"action": "automation.log",
                         "config": {"message":
                                    "{{ trigger.payload.system_id }} is {{ trigger.payload.new_status }}"}}]})
    assert wait_until(lambda: settled(stack), timeout=60) is not None, "set-up changes never settled"

    # The embedded capacity: a burst, timed until routed, broadcast and every run ended
    start = time.monotonic()
    burst(stack, systems[:3], BURST)
    drained = wait_until(lambda: settled(stack), timeout=180, interval=0.2)
    assert drained is not None, "the capacity burst never settled"
    capacity = BURST / (time.monotonic() - start)
    rate = capacity / 2
    report(f"\nembedded capacity: {capacity:.1f} health changes/s (each with 3 runs and a broadcast); "
          f"soak: {WRITERS} writers at {rate:.1f}/s in all for {seconds:.0f} s")

    # When three writer processes report health at half of it
    writers = [subprocess.Popen(
        [sys.executable, "-m", "testing.health_writer", stack.url, stack.token, str(seconds),
         str(WRITERS / rate), *systems[2 * w:2 * w + 2]],
        cwd=BASE_DIR, stdout=subprocess.PIPE, text=True) for w in range(WRITERS)]
    results = [json.loads(writer.communicate(timeout=seconds + 120)[0].strip().splitlines()[-1])
               for writer in writers]
    last_write = max(result["last_write"] for result in results)

    # Then every change is routed and broadcast and every run ended within 60 s of the last write
    waited = wait_until(lambda: settled(stack), timeout=DRAIN_SECONDS - (time.time() - last_write))
    [(changes,)] = stack.query("SELECT COUNT(*) FROM automation_changeevent WHERE kind = 'health'")
    [(unrouted,)] = stack.query("SELECT COUNT(*) FROM automation_changeevent WHERE routed_at IS NULL")
    runs = dict(stack.query("SELECT status, COUNT(*) FROM automation_run GROUP BY status"))
    report(f"soak: {sum(r['sent'] for r in results)} reports, {changes} health changes, runs {runs}, "
          f"settled {waited if waited is None else round(waited, 1)} s after the last write")
    assert waited is not None, (f"not settled within {DRAIN_SECONDS}s of the last write: {unrouted} unrouted, "
                                f"runs {runs}, {len(missing_broadcasts(stack))} broadcasts missing")
    assert [r["failures"] for r in results] == [0] * WRITERS
    assert runs.get("failed", 0) == 0, runs
    # And no process died or was restarted: each started once, none exited
    log = stack.log()
    assert [log.count(f"{name:<10} | started") for name in ("web", "worker", "beat")] == [1, 1, 1], log[-5000:]
    assert "restarting" not in log, log[-5000:]
    assert "database is locked" not in log and "Traceback" not in log, log[-5000:]


def test_the_embedded_defaults_hold_a_soak_at_half_their_capacity(stack, request, capsys):
    def report(line: str):
        with capsys.disabled():  # the figures show in CI's output, not only with -s
            print(line, flush=True)

    soak(stack, seconds=300 if request.config.getoption("--full") else 60, report=report)
