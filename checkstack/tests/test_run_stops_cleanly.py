"""Ctrl-C on `python3 dev.py run`: every Procfile process stops on its own (warm) within 5 s, none is killed.

The real Procfile under dev.py's supervisor, on the embedded defaults in a temporary folder (no PostgreSQL,
no Redis): web under gunicorn, the Celery worker with its prefork pool, beat.
"""

import os
import re
import signal
import time

import pytest

from testing.embedded_stack import EmbeddedStack, embedded_env, set_up
from testing.process_fixtures import BASE_DIR

pytestmark = pytest.mark.integration


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_ctrl_c_stops_web_worker_and_beat_within_5_seconds_without_killing_any(tmp_path):
    env = embedded_env(tmp_path / "var")
    set_up(env)
    stack = EmbeddedStack(tmp_path, env, (BASE_DIR / "Procfile").read_text()).start()
    try:
        pids = {name: int(pid) for name, pid in re.findall(r"(\w+)\s+\| started \(pid (\d+)\)", stack.log())}
        assert set(pids) == {"web", "worker", "beat"}
        time.sleep(2)  # beat's first sweeps are in flight: the worker is as busy as when an operator stops it

        sent = time.monotonic()
        stack.proc.send_signal(signal.SIGINT)
        assert stack.proc.wait(timeout=15) == 0
        stopped_within = time.monotonic() - sent
    finally:
        stack.stop()

    log = stack.log()
    assert "killing it" not in log, log[-3000:]
    assert "worker: Warm shutdown (MainProcess)" in log
    stopped = {name: float(seconds) for name, seconds in re.findall(r"supervisor \| (\w+) stopped after ([\d.]+)s",
                                                                    log)}
    assert set(stopped) == {"web", "worker", "beat"}
    assert max(stopped.values()) <= 5, stopped
    assert stopped_within <= 6, stopped_within  # the supervisor itself exits right after its last process
    # Nothing is left behind: not the processes, nor anything in their groups (the pool's children).
    assert [name for name, pid in pids.items() if alive(pid)] == []
    for pid in pids.values():
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, 0)
