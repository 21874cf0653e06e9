"""A real web server (gunicorn on the test database) and real prober processes for integration tests.

The probers get no DATABASE_URL, CELERY_BROKER_URL or SECRET_KEY: they talk to the server over HTTP only.
"""

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from testing.embedded_stack import free_port
from testing.process_fixtures import BASE_DIR, kill_group, marked, process_env, wait_for

BIN = Path(sys.executable).parent


class Process:
    def __init__(self, args: list[str], log_path: Path, env: dict):
        self.args, self.log_path, self.proc = args, log_path, None
        self.env, self.mark = marked(env)

    def start(self):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, cwd=BASE_DIR, env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=15)

    def stop(self):
        """SIGTERM the group (SIGKILL after 15 s), then kill whatever is left in it (gunicorn's workers
        when the master went first)."""
        try:
            self.kill(signal.SIGTERM)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)
        if self.proc is not None:
            kill_group(self.proc.pid, self.mark)
        if getattr(self, "_log", None):
            self._log.close()


def start_web(tmp_path: Path, **env) -> tuple[Process, str]:
    """gunicorn serving the app on the test database; its base URL once it answers."""
    port = free_port()
    web = Process([str(BIN / "gunicorn"), "checkstack.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2",
                   "--threads", "4"], tmp_path / "web.log", process_env(**env)).start()
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                pass
            with urllib.request.urlopen(f"{url}/api/v1/", timeout=5):
                return True
        except OSError as exc:
            return getattr(exc, "code", None) is not None  # an HTTP error is an answer

    wait_for(answers, timeout=60, interval=0.3, what="gunicorn to answer")
    return web, url


def prober_env(tmp_path: Path, name: str, **extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DEBUG", "CHECKSTACK_CHECKS_ALLOWLIST"}}
    var_dir = tmp_path / f"prober-{name}"
    var_dir.mkdir(exist_ok=True)
    env.update(CHECKSTACK_VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start_prober(tmp_path: Path, name: str, url: str, token: str, *, concurrency: int = 4, **env) -> Process:
    prober = Process([sys.executable, "manage.py", "checkstack_prober", "--url", url, "--token", token,
                      "--concurrency", str(concurrency)], tmp_path / f"prober-{name}.log",
                     prober_env(tmp_path, name, **env)).start()
    wait_for(lambda: "prober started" in prober.log() or prober.proc.poll() is not None, timeout=30,
             what=f"prober {name} to start")
    assert prober.proc.poll() is None, prober.log()[-3000:]
    return prober
