"""Real processes for integration tests: a private Redis, Celery workers and beat on the test database.

The tests that stop the broker own it: a private `redis-server` on CHECKSTACK_TEST_REDIS_PORT, so the
machine's shared Redis is never disturbed. A missing PostgreSQL, Redis binary or worker fails the test;
nothing here skips.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)
CELERY_BIN = str(Path(sys.executable).with_name("celery"))


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for(predicate, *, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Poll `predicate` until it returns a truthy value; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


class PrivateRedis:
    """A redis-server this test session owns (it can be stopped and restarted at will)."""

    def __init__(self, port: int):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"

    def start(self):
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed: integration tests need Redis")
        subprocess.run(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "yes", "--logfile", ""],
            check=True,
        )
        wait_for(lambda: _port_open(self.port), timeout=10, what=f"redis on port {self.port}")

    def stop(self):
        subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "nosave"], capture_output=True)
        wait_for(lambda: not _port_open(self.port), timeout=10, what="redis to stop")

    def flush(self):
        subprocess.run(["redis-cli", "-p", str(self.port), "flushall"], check=True, capture_output=True)

    @property
    def running(self) -> bool:
        return _port_open(self.port)


def process_env(**extra) -> dict:
    """Environment for a worker/beat process that shares this test session's database and broker."""
    db = connection.settings_dict
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        SECRET_KEY="checkstack-tests-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
        CHECKSTACK_OUTBOX_GRACE_SECONDS="1",
        CHECKSTACK_SWEEP_INTERVAL_SECONDS="1",
        PYTHONUNBUFFERED="1",
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


# Each process a test starts carries a mark of its own in its environment, inherited by its children: the
# pid of a leader that exited and was reaped may be reused (pid_max may be 32768 on a busy machine) by
# another program's group, which must never be signalled for ours.
MARK_VARIABLE = "CHECKSTACK_TEST_PROCESS"


def marked(env: dict) -> tuple[dict, bytes]:
    """`env` with a new mark; the mark as it reads in /proc/<pid>/environ."""
    mark = uuid.uuid4().hex
    return {**env, MARK_VARIABLE: mark}, f"{MARK_VARIABLE}={mark}\0".encode()


def _state_and_group(pid: str) -> tuple[str, int] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # exited meanwhile
        return None
    # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so split after its last ")".
    state, _ppid, pgrp = stat[stat.rindex(")") + 2:].split()[:3]
    return state, int(pgrp)


def group_members(pgid: int | None, *, mark: bytes | None = None) -> list[int]:
    """The live (not zombie) processes of process group `pgid` (None: of any group), with `mark`: only those
    carrying it.

    Read from /proc, not `killpg(pgid, 0)`: an orphaned zombie counts there, and a container's pid 1 may never
    reap it.
    """
    members = []
    for entry in Path("/proc").iterdir():
        found = _state_and_group(entry.name) if entry.name.isdigit() else None
        if found is None or (pgid is not None and found[1] != pgid) or found[0] == "Z":
            continue
        try:
            if mark is not None and mark not in (entry / "environ").read_bytes():
                continue
        except OSError:  # another user's, or gone: not ours
            continue
        members.append(int(entry.name))
    return members


def pid_alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie does not)."""
    found = _state_and_group(str(pid))
    return found is not None and found[0] != "Z"


def signal_marked(pgid: int | None, mark: bytes, sig) -> None:
    """Signal each process of group `pgid` (None: of any group) that carries `mark`, one by one (never the
    group: see MARK_VARIABLE)."""
    for pid in group_members(pgid, mark=mark):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def kill_group(pgid: int | None, mark: bytes, *, timeout: float = 10) -> None:
    """SIGKILL every process of group `pgid` (None: every process, e.g. the supervisor's children, each in a
    session of its own) carrying `mark` until none is alive; fail the test otherwise."""
    deadline = time.monotonic() + timeout
    while group_members(pgid, mark=mark):
        signal_marked(pgid, mark, signal.SIGKILL)
        if time.monotonic() > deadline:
            pytest.fail(f"processes {group_members(pgid, mark=mark)} of group {pgid} survived SIGKILL for {timeout}s")
        time.sleep(0.05)


# Every Celery process a test launched: the `integration` fixture stops whatever a test left running (a test
# that failed before its own stop), so no worker outlives it to consume a later test's queue.
_launched: list["CeleryProcess"] = []


def stop_launched() -> None:
    """Stop every launched Celery process still running, its whole process group with it."""
    while _launched:
        _launched.pop().stop()


class CeleryProcess:
    """A `celery worker` or `celery beat` subprocess with its log in the test's temporary folder.

    It leads a process group of its own (its prefork pool children are in it): stopping or killing it ends
    the whole group, even after the leader itself is gone, so no pool child is left behind.
    """

    def __init__(self, args: list[str], log_path: Path, env: dict):
        self.args, self.log_path = args, log_path
        self.env, self.mark = marked(env)
        self.proc = None

    def start(self, ready_text: str, timeout: float = 30):
        return self.launch().wait_ready(ready_text, timeout=timeout)

    def launch(self):
        """Start the process without waiting for it (several can then boot side by side)."""
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [CELERY_BIN, "-A", "checkstack", *self.args],
            cwd=BASE_DIR, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        _launched.append(self)
        return self

    def wait_ready(self, ready_text: str, timeout: float = 30):
        try:
            wait_for(lambda: ready_text in self.log() or self.proc.poll() is not None, timeout=timeout,
                     what=f"celery {self.args[0]} to start")
        except BaseException:
            self.stop()  # it may still be booting: not left to consume a queue after this test failed
            raise
        if self.proc.poll() is not None:
            self.stop()  # its pool children may have outlived it
            pytest.fail(f"celery {self.args[0]} exited at start:\n{self.log()[-3000:]}")
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self, sig=signal.SIGKILL):
        """Signal the whole process group (the prefork children too), even when its leader already exited."""
        if self.proc is None:
            return
        if self.proc.poll() is None:  # not reaped: its pid, the group's id, cannot have been reused
            os.killpg(self.proc.pid, sig)
        else:
            signal_marked(self.proc.pid, self.mark, sig)

    def stop(self):
        """Stop the process (SIGTERM to the group, SIGKILL after 15 s), then kill whatever is left in its group
        and wait until nothing is: a leader that died alone leaves its pool children behind."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.kill(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill(signal.SIGKILL)
                self.proc.wait(timeout=5)
        kill_group(self.proc.pid, self.mark)
        if self in _launched:
            _launched.remove(self)
        if getattr(self, "_log", None):
            self._log.close()


def worker_process(tmp_path: Path, name: str = "w1", concurrency: int = 2, queues: str | None = None,
                   **env) -> CeleryProcess:
    """A test worker, not started. `queues`: its -Q (e.g. "checkstack.deliveries"); None consumes every queue
    of CELERY_TASK_QUEUES, as the Procfile's worker does."""
    args = ["worker", "-n", f"{name}@%h", "-c", str(concurrency), "--pool", "prefork", "-l", "INFO",
            "--without-mingle", "--without-gossip", "-I", "automation.tests.worker_plugin"]
    if queues is not None:
        args += ["-Q", queues]
    return CeleryProcess(args, tmp_path / f"{name}.log", process_env(**env))


def start_worker(tmp_path: Path, name: str = "w1", concurrency: int = 2, queues: str | None = None,
                 **env) -> CeleryProcess:
    return worker_process(tmp_path, name, concurrency, queues, **env).start("ready.")


def start_workers(tmp_path: Path, names: list[str], concurrency: int = 2, **env) -> list[CeleryProcess]:
    """Several workers (distinct names, logs and hostnames) booted side by side; all ready on return."""
    workers = [worker_process(tmp_path, name, concurrency, **env).launch() for name in names]
    try:
        return [worker.wait_ready("ready.", timeout=60) for worker in workers]
    except BaseException:
        for worker in workers:
            worker.stop()
        raise


def start_beat(tmp_path: Path, name: str = "beat", **env) -> CeleryProcess:
    args = ["beat", "-l", "INFO", "-s", str(tmp_path / f"{name}-schedule")]
    # The banner line printed once the scheduler service exists (celery.beat's own log lines are quieted).
    return CeleryProcess(args, tmp_path / f"{name}.log", process_env(**env)).start("LocalTime ->")


def require_integration_services():
    """Fail (never skip) unless this run uses PostgreSQL and the private Redis broker."""
    if connection.vendor != "postgresql":
        pytest.fail("integration tests need DATABASE_URL pointing at PostgreSQL (run the README's test command)")
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.fail("integration tests need CELERY_BROKER_URL pointing at Redis (run the README's test command)")
