#!/usr/bin/env python3
"""Checkstack's two commands, needing only Python 3.11 on a fresh machine.

    python3 dev.py run    set up (virtualenv, packages, migrations, static files, admin user) and start the
                          Procfile's processes (web, worker, beat), restarting any that dies
    python3 dev.py test   set up (requirements-test.txt too), run `ruff check`, then the whole test suite
                          (SQLite pass, then PostgreSQL + Redis + real workers)
    python3 dev.py start [PROCFILE]  only start the Procfile's processes under the supervisor (no set-up)
"""

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import venv
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
PYTHON = BIN / "python"
VAR = ROOT / "var"

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/checkstack")
# The integration tests own this Redis (they stop and restart it); the machine's Redis on 6379 is left alone.
TEST_BROKER_URL = os.environ.get("TEST_BROKER_URL", "redis://127.0.0.1:6391/0")


def sh(*args, env=None, check=True):
    print("+", " ".join(str(a) for a in args), flush=True)
    return subprocess.run([str(a) for a in args], cwd=ROOT, env=env, check=check)


RUNTIME_REQUIREMENTS = "requirements.txt"
TEST_REQUIREMENTS = "requirements-test.txt"  # -r requirements.txt plus the tests' tools


def requirement_files(name: str) -> list[str]:
    """`name` and every file it includes with `-r`, in order."""
    files = [name]
    for line in (ROOT / name).read_text().splitlines():
        if line.startswith(("-r ", "--requirement ")):
            files += [f for f in requirement_files(line.split(None, 1)[1].strip()) if f not in files]
    return files


def installed_stamp(name: str) -> tuple[Path, str]:
    """Where the install of `name` is recorded, and what it records: the text of `name` and its includes."""
    return VENV / f".installed-{name}", "".join((ROOT / f).read_text() for f in requirement_files(name))


def ensure_virtualenv(requirements: str = RUNTIME_REQUIREMENTS):
    """Create .venv and install `requirements`, again only when it or a file it includes changed."""
    if not PYTHON.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp, wanted = installed_stamp(requirements)
    if not stamp.exists() or stamp.read_text() != wanted:
        sh(PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", requirements)
        # Installing the test requirements installed the runtime's too: `run` need not install them again.
        for name in requirement_files(requirements):
            path, text = installed_stamp(name)
            path.write_text(text)


def local_secret_key() -> str:
    """A per-checkout secret key kept in var/, so sessions survive restarts."""
    VAR.mkdir(exist_ok=True)
    path = VAR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


def ensure_local_env_file():
    """A git-ignored .env with this checkout's secret key, so `manage.py` commands work here too."""
    path = ROOT / ".env"
    if not path.exists():
        path.write_text(f"# Written by `python3 dev.py run` for this checkout; never commit it.\n"
                        f"SECRET_KEY={local_secret_key()}\n")


def run_environment(base: dict) -> dict:
    """The processes' environment: what the caller set wins; the rest suits a local server on PORT."""
    env = {**base, "PATH": f"{BIN}:{base['PATH']}"}
    env.setdefault("SECRET_KEY", local_secret_key())
    env.setdefault("DEBUG", "true")
    port = env.setdefault("PORT", "8000")
    # Links built without a request (ping URLs, emails, the demo's self check) point at this server.
    env.setdefault("CHECKSTACK_PUBLIC_URL", f"http://localhost:{port}")
    return env


def run():
    ensure_virtualenv()
    ensure_local_env_file()
    env = run_environment(dict(os.environ))
    port = env["PORT"]
    sh(PYTHON, "manage.py", "migrate", "--noinput", env=env)
    sh(PYTHON, "manage.py", "collectstatic", "--noinput", "-v", "0", env=env)
    password = os.environ.get("CHECKSTACK_ADMIN_PASSWORD", "checkstack-admin")
    sh(PYTHON, "manage.py", "ensure_admin", "--username", "admin", "--password", password, env=env)
    print(
        f"\nCheckstack: http://127.0.0.1:{port}/admin/  (user: admin, password: {password})\n"
        f"Status page: http://127.0.0.1:{port}/status/   API docs: http://127.0.0.1:{port}/api/docs/\n"
        f"Commands: .venv/bin/python manage.py <command>  (e.g. drf_create_token admin for an API token)\n",
        flush=True,
    )
    sys.exit(supervise(read_procfile(ROOT / "Procfile"), env))


# --- The supervisor: the Procfile's processes, each restarted when it exits ---------------------------------
# honcho (used before) stopped every process when one exited: a worker crash took web and beat down too.
RESTART_DELAYS = (1, 2, 5, 10, 30)  # seconds before the 1st, 2nd, ... restart in a row; then 30 s each time
STABLE_SECONDS = 60  # a process that ran this long starts its back-off over when it next exits


def read_procfile(path: Path) -> dict[str, str]:
    """The Procfile's `name: command` lines, in order."""
    entries = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, command = line.split(":", 1)
            entries[name.strip()] = command.strip()
    return entries


def log(name: str, message: str):
    print(f"{datetime.now():%H:%M:%S} {name:<10} | {message}", flush=True)


def exit_reason(code: int) -> str:
    return f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"


class Supervised:
    """One Procfile process: its own process group (signalled as a whole) and its output prefixed."""

    def __init__(self, name: str, command: str, env: dict):
        self.name, self.command, self.env = name, command, env
        self.proc, self.started, self.restarts, self.due = None, 0.0, 0, None

    def start(self):
        # The shell expands ${PORT:-8000} as in the Procfile; exec leaves no shell between us and the process.
        self.proc = subprocess.Popen(["/bin/sh", "-c", f"exec {self.command}"], cwd=ROOT, env=self.env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        self.started, self.due = time.monotonic(), None
        threading.Thread(target=self._copy_output, args=(self.proc,), daemon=True).start()
        log(self.name, f"started (pid {self.proc.pid})")

    def _copy_output(self, proc):
        for line in iter(proc.stdout.readline, b""):
            log(self.name, line.decode(errors="replace").rstrip())

    def check(self, now: float):
        """Restart this process, after its back-off, when it exited."""
        if self.due is None and (code := self.proc.poll()) is not None:
            # What it left in its group goes with it (a Celery pool whose parent was killed would go on
            # beside the restarted worker's pool); its leader is gone, so no parent can hang on a lock.
            self.signal_group(signal.SIGKILL)
            if now - self.started >= STABLE_SECONDS:
                self.restarts = 0
            delay = RESTART_DELAYS[min(self.restarts, len(RESTART_DELAYS) - 1)]
            log("supervisor", f"{self.name} {exit_reason(code)}; restarting in {delay}s")
            self.restarts, self.due = self.restarts + 1, now + delay
        if self.due is not None and now >= self.due:
            self.start()

    def terminate(self):
        """Ask the process itself to stop; it stops its own children (Celery's warm shutdown, gunicorn's).

        Not its whole group: a Celery pool child hit directly may die holding the pool's queue lock, and its
        parent then hangs in its exit until killed.
        """
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)

    def signal_group(self, sig):
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:  # the group is empty: everything in it has exited
            pass

    def stopped(self) -> bool:
        """Whether the process has exited; once it has, end what it left behind in its group."""
        if self.proc.poll() is None:
            return False
        # What a shell started without exec and left running when it exited is still in the group.
        self.signal_group(signal.SIGTERM)
        return True


def stop_all(processes: list[Supervised], grace: float, poll: float = 0.05):
    """Ask every process to stop, log when each has, and kill the group of any still running after `grace`."""
    log("supervisor", "stopping every process")
    started = time.monotonic()
    for process in processes:
        process.terminate()
    running = list(processes)
    while running and time.monotonic() < started + grace:
        for process in [p for p in running if p.stopped()]:
            log("supervisor", f"{process.name} stopped after {time.monotonic() - started:.1f}s")
            running.remove(process)
        time.sleep(poll)
    for process in running:
        log("supervisor", f"{process.name} did not stop within {grace}s; killing it")
        process.signal_group(signal.SIGKILL)
        process.proc.wait()
    for process in processes:  # what an exited process left in its group and SIGTERM did not end
        process.signal_group(signal.SIGKILL)


def supervise(procfile: dict[str, str], env: dict, *, poll: float = 0.2, grace: float = 10) -> int:
    """Run every Procfile process until SIGINT or SIGTERM, restarting any that exits; then stop them all."""
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    processes = [Supervised(name, command, env) for name, command in procfile.items()]
    for process in processes:
        process.start()
    while not stopping.wait(poll):
        for process in processes:
            process.check(time.monotonic())
    stop_all(processes, grace)
    return 0


def ensure_chromium():
    """The browser tests drive Debian's Chromium; install it when missing (they fail, never skip, without it)."""
    if Path("/usr/bin/chromium").exists():
        return
    if os.geteuid() != 0 or not Path("/usr/bin/apt-get").exists():
        print("Chromium is missing and cannot be installed here: the browser tests will fail.", flush=True)
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if sh("apt-get", "install", "-y", "-q", "chromium", env=env, check=False).returncode != 0:
        sh("apt-get", "update", "-q", env=env, check=False)
        sh("apt-get", "install", "-y", "-q", "chromium", env=env, check=False)


def test(extra: list[str]):
    ensure_virtualenv(TEST_REQUIREMENTS)
    ensure_chromium()
    base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "DEBUG"}}
    base["PATH"] = f"{BIN}:{base['PATH']}"
    sh(BIN / "ruff", "check", ".", env=base)  # the rules in ruff.toml, before minutes of tests
    # Pass 1: everything but the integration tests, on SQLite and an in-process broker.
    sh(PYTHON, "-m", "pytest", "-m", "not integration", *extra, env=base)
    # Pass 2: the engine's guarantees on PostgreSQL, Redis and real Celery processes (these fail, never skip,
    # when a service is missing), plus the tests marked to run on both databases.
    pg = {**base, "DATABASE_URL": TEST_DATABASE_URL, "CELERY_BROKER_URL": TEST_BROKER_URL}
    sh(PYTHON, "-m", "pytest", "-m", "integration or postgres", *extra, env=pg)


def main():
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    try:
        if command == "run":
            run()
        elif command == "test":
            test(sys.argv[2:])
        elif command == "start":
            env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
            sys.exit(supervise(read_procfile(Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "Procfile"), env))
        else:
            sys.exit(__doc__)
    except subprocess.CalledProcessError as exc:
        sys.exit(exc.returncode)


if __name__ == "__main__":
    main()
