"""The embedded defaults (SQLite, the SQLite broker) with a real worker and beat, as `dev.py run` starts them.

Beat sends sweeps every second; if the worker drains the broker more slowly than that (kombu's 1 s default
polling interval did), messages pile up without bound and every wake-up waits behind the pile. The test
runs the processes for a while and checks that the broker is empty most of the time, then that changes
made meanwhile are routed, a tombstone's deliveries run and a health change's broadcast reaches the worker
(the embedded broker has no fan-out: the broadcast queue is a plain one there).
"""

import sqlite3
import subprocess
import sys
import time
import uuid

import pytest

from testing.embedded_stack import embedded_env, manage
from testing.process_fixtures import BASE_DIR, CeleryProcess, wait_for

pytestmark = pytest.mark.integration


def pending_messages(broker: sqlite3.Connection) -> int:
    return broker.execute("SELECT COUNT(*) FROM kombu_message WHERE visible = 1").fetchone()[0]


def test_the_worker_keeps_up_with_beat_and_carries_every_queue_on_the_embedded_broker(tmp_path):
    var_dir, broadcasts = tmp_path / "var", tmp_path / "broadcasts.log"
    broadcasts.touch()
    env = embedded_env(var_dir, CHECKSTACK_TEST_BROADCAST_LOG=broadcasts)
    manage(env, "migrate", "--noinput", "-v", "0")
    worker = CeleryProcess(["worker", "-l", "INFO", "-c", "2", "--without-mingle", "--without-gossip",
                            "-I", "checkstack.tests.embedded_worker_plugin"],
                           tmp_path / "worker.log", env).start("ready.")
    beat = CeleryProcess(["beat", "-l", "INFO", "-s", str(var_dir / "beat-schedule")], tmp_path / "beat.log",
                         env).start("LocalTime ->")
    try:
        broker = sqlite3.connect(var_dir / "broker.sqlite3", timeout=30)
        depths = []
        for _ in range(30):  # 15 s of beat sending its every-second sweeps
            time.sleep(0.5)
            depths.append(pending_messages(broker))
        subprocess.run([sys.executable, "manage.py", "shell", "-c",
                        "from catalog.services import system_create, system_delete, health_report; "
                        "health_report(system=system_create(name='embedded', actor='test'), status='degraded', "
                        "actor='test'); system_delete(system=system_create(name='gone', actor='test'), actor='test')"],
                       cwd=BASE_DIR, env=env, check=True)
        with sqlite3.connect(var_dir / "checkstack.sqlite3", timeout=30) as db:
            wait_for(lambda: db.execute("SELECT COUNT(*) FROM automation_changeevent "
                                        "WHERE routed_at IS NOT NULL").fetchone()[0] == 4,
                     timeout=20, what="the worker to route the changes")
            # The tombstone's deliveries (the apps' subscribers on deleted systems) travel on
            # checkstack.deliveries: consumed too.
            deliveries = "SELECT COUNT(*), COUNT(delivered_at) FROM automation_subscriptiondelivery"
            wait_for(lambda: (counts := db.execute(deliveries).fetchone())[0] > 0 and counts[0] == counts[1],
                     timeout=20, what="the worker to run the change's deliveries")
            [(health_change,)] = db.execute("SELECT change_id FROM automation_changeevent WHERE kind = 'health'")
        # The broadcast subscriber ran in the worker on the health change
        wait_for(lambda: broadcasts.read_text().split() == [str(uuid.UUID(health_change))], timeout=20,
                 what="the broadcast to reach the worker")
        # A taken message leaves no row behind (kombu would keep it, invisible, forever)
        assert broker.execute("SELECT COUNT(*) FROM kombu_message WHERE visible = 0").fetchone()[0] == 0
    finally:
        beat.stop()
        worker.stop()
    # A single sample can catch a burst in flight; what tells a worker that keeps up from one that lags
    # is how often it finds the broker empty.
    settled = depths[10:]
    assert settled.count(0) >= len(settled) // 2, depths
