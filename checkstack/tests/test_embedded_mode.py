"""The embedded defaults (SQLite, kombu's filesystem broker) with a real worker and beat, as `dev.py run` starts them.

Beat sends sweeps every second; if the worker drains the broker folder more slowly than that (kombu's 1 s
default polling interval did), messages pile up without bound and every wake-up waits behind the pile.
The test runs the processes for a while and checks that the folder is empty most of the time, then that a
change made meanwhile is routed by the worker.
"""

import os
import sqlite3
import subprocess
import sys
import time

import pytest

from testing.process_fixtures import BASE_DIR, CeleryProcess, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def embedded_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "DEBUG"}}
    env.update(SECRET_KEY="checkstack-tests-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz", CHECKSTACK_VAR_DIR=str(tmp_path / "var"), PYTHONUNBUFFERED="1")
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=BASE_DIR, env=env, check=True)
    return env


def pending_messages(var_dir) -> int:
    return sum(1 for name in os.listdir(var_dir / "broker") if name.endswith(".msg"))


def test_the_worker_keeps_up_with_beat_on_the_filesystem_broker(embedded_env, tmp_path):
    var_dir = tmp_path / "var"
    worker = CeleryProcess(["worker", "-l", "INFO", "-c", "2", "--without-mingle", "--without-gossip"],
                           tmp_path / "worker.log", embedded_env).start("ready.")
    beat = CeleryProcess(["beat", "-l", "INFO", "-s", str(var_dir / "beat-schedule")], tmp_path / "beat.log",
                         embedded_env).start("LocalTime ->")
    try:
        depths = []
        for _ in range(30):  # 15 s of beat sending its every-second sweeps
            time.sleep(0.5)
            depths.append(pending_messages(var_dir))
        subprocess.run([sys.executable, "manage.py", "shell", "-c",
                        "from catalog.services import system_create; system_create(name='embedded', actor='test')"],
                       cwd=BASE_DIR, env=embedded_env, check=True)
        with sqlite3.connect(var_dir / "checkstack.sqlite3") as db:
            wait_for(lambda: db.execute("SELECT COUNT(*) FROM automation_changeevent "
                                        "WHERE kind = 'system' AND routed_at IS NOT NULL").fetchone()[0] == 1,
                     timeout=20, what="the worker to route the change")
            # Its deliveries (the apps' subscribers on systems) travel on checkstack.deliveries: consumed too.
            deliveries = "SELECT COUNT(*), COUNT(delivered_at) FROM automation_subscriptiondelivery"
            wait_for(lambda: (counts := db.execute(deliveries).fetchone())[0] > 0 and counts[0] == counts[1],
                     timeout=20, what="the worker to run the change's deliveries")
    finally:
        beat.stop()
        worker.stop()
    # A single sample can catch a burst in flight; what tells a worker that keeps up from one that lags
    # is how often it finds the folder empty (about 80% of samples with 0.1 s polling, 20% with 1 s).
    settled = depths[10:]
    assert settled.count(0) >= len(settled) // 2, depths
