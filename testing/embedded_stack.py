"""The run command's processes on the embedded defaults, in a temporary folder, for integration tests.

SQLite and the embedded broker in the folder (DATABASE_URL and CELERY_BROKER_URL removed from the
children's environment), the Procfile's web (gunicorn), worker and beat under dev.py's supervisor.
"""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from testing.process_fixtures import BASE_DIR, kill_group, marked, wait_for

TEST_SECRET_KEY = "checkstack-tests-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
BIN = str(Path(sys.executable).parent)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def embedded_env(var_dir: Path, **extra) -> dict:
    """The children's environment: the embedded defaults, whatever this test session runs on."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "DEBUG"}}
    env.update(SECRET_KEY=TEST_SECRET_KEY, CHECKSTACK_VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1",
               PATH=f"{BIN}:{env['PATH']}", PORT=str(free_port()))
    env.update({k: str(v) for k, v in extra.items()})
    return env


def manage(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True,
                          capture_output=True, text=True)
    return done.stdout


def set_up(env: dict) -> str:
    """What `dev.py run` does before starting: migrate, collect static files; plus an API token."""
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "collectstatic", "--noinput", "-v", "0")
    return manage(env, "shell", "-c", (
        "from django.contrib.auth.models import User; from rest_framework.authtoken.models import Token; "
        "print(Token.objects.create(user=User.objects.create_superuser('soak', 'soak@example.com', 'pw')).key)"
    )).split()[-1]  # after the shell's "N objects imported automatically" banner


class EmbeddedStack:
    """dev.py's supervisor running a Procfile (the repository's, possibly with test hooks appended)."""

    def __init__(self, tmp_path: Path, env: dict, procfile: str):
        self.env, self.mark = marked(env)
        self.tmp_path = tmp_path
        self.procfile = tmp_path / "Procfile"
        self.procfile.write_text(procfile)
        self.log_path = tmp_path / "supervisor.log"
        self.url = f"http://127.0.0.1:{env['PORT']}"
        self.proc = None

    def start(self, *, ready: bool = True):
        """Start the supervisor; wait for gunicorn to answer, and for the worker too when `ready`."""
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "dev.py", "start", str(self.procfile)], cwd=BASE_DIR,
                                     env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        if ready:
            wait_for(lambda: "ready." in self.log(), timeout=90, what="the worker to be ready")
        wait_for(self.web_answers, timeout=60, interval=0.5, what="gunicorn to answer")
        return self

    def web_answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/status/", timeout=5) as response:
                return response.status == 200
        except OSError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # the supervisor stops its processes (Ctrl-C)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        # The supervisor's processes lead sessions of their own: what it left (it hung and was killed, or a
        # process of it ignored the stop) is found by this stack's mark, wherever it is.
        kill_group(None, self.mark)
        if getattr(self, "_log", None):
            self._log.close()

    def query(self, sql: str, *params):
        with sqlite3.connect(Path(self.env["CHECKSTACK_VAR_DIR"]) / "checkstack.sqlite3", timeout=30) as db:
            return db.execute(sql, params).fetchall()


def api(url: str, token: str, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(f"{url}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Token {token}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def wait_until(predicate, *, timeout: float, interval: float = 0.5) -> float | None:
    """Seconds until `predicate` held, or None when it did not within `timeout`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(interval)
    return None
