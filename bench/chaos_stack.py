"""What the chaos soak runs and breaks: a private PostgreSQL cluster, a private Redis, the Procfile's processes
under dev.py's supervisor, and the local receivers (HTTP and SMTP) that log every side effect.

Everything here is started by the soak and cleaned up by it, also on failure (whole process groups are killed):
the machine's shared PostgreSQL cluster and Redis are never touched.
"""

import email
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path(os.environ.get("CHAOS_PG_BIN", "/usr/lib/postgresql/15/bin"))
PROCESS_TYPES = ("web", "worker", "beat")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for(predicate, *, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")


class PrivatePostgres:
    """A throw-away PostgreSQL cluster in a temporary folder, owned by the `postgres` OS user when run as root."""

    def __init__(self, root: Path, port: int):
        self.dir, self.port = root / "pg", port
        self.data = self.dir / "data"
        self.url = f"postgres://postgres@127.0.0.1:{port}/checkstack_chaos"

    def _run(self, *args: str, check: bool = True):
        command = [str(PG_BIN / args[0]), *args[1:]]
        if os.geteuid() == 0:  # initdb refuses root
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True)

    def start(self):
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(f"PostgreSQL binaries not found in {PG_BIN} (CHAOS_PG_BIN)")
        self.dir.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        # fsync stays on: "acknowledged" must mean on disk, as in production.
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.dir / "server.log"), "-w", "start")
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "checkstack_chaos")

    def restart_immediate(self):
        """A crash and a recovery: `-m immediate` skips the shutdown checkpoint; what was committed must survive."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-l", str(self.dir / "server.log"), "-w",
                  "restart")

    def stop(self):
        if self.data.exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
            pid_file = self.data / "postmaster.pid"
            if pid_file.exists():  # pg_ctl failed: kill the postmaster's group itself
                kill_group(int(pid_file.read_text().split()[0]))
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivateRedis:
    """A redis-server on a port of the soak's own, without persistence (a restart loses every queued message)."""

    def __init__(self, root: Path, port: int):
        self.port, self.root = port, root
        self.url = f"redis://127.0.0.1:{port}/0"
        self.proc = None

    def start(self):
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server is not installed")
        if port_open(self.port):
            raise RuntimeError(f"port {self.port} is taken: the soak needs its own Redis there")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--logfile", str(self.root / "redis.log")], start_new_session=True)
        wait_for(lambda: port_open(self.port), timeout=10, what=f"redis on {self.port}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            kill_group(self.proc.pid)
            self.proc.wait(timeout=10)


def kill_group(pid: int, sig=signal.SIGKILL) -> bool:
    try:
        os.killpg(pid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purposes
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def soak_procfile(path: Path, beat_schedule: Path) -> Path:
    """The repository's Procfile, beat's schedule file moved into the soak's folder (a kill -9 may tear it)."""
    lines = []
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("beat:"):
            line += f" -s {beat_schedule}"
        lines.append(line)
    path.write_text("\n".join(lines) + "\n")
    return path


# dev.py's supervisor itself, with a back-off of `restart_delay` seconds: production's grows to 30 s after repeated
# exits, which would leave a process killed every few seconds down for most of the soak.
SUPERVISOR = ("import os, sys, dev; from pathlib import Path; dev.RESTART_DELAYS = (float(sys.argv[2]),); "
              "sys.exit(dev.supervise(dev.read_procfile(Path(sys.argv[1])), dict(os.environ)))")
STARTED = re.compile(r"^\S+ (\w+)\s+\| started \(pid (\d+)\)$")


class Supervisor:
    """The Procfile's web, worker and beat under dev.py's supervisor; knows each one's current pid from its log."""

    def __init__(self, root: Path, env: dict, *, restart_delay: float):
        self.root, self.env, self.restart_delay = root, env, restart_delay
        self.log_path = root / "supervisor.log"
        self.procfile = soak_procfile(root / "Procfile", root / "celerybeat-schedule")
        self.proc = None
        self.url = f"http://127.0.0.1:{env['PORT']}"

    def start(self):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-c", SUPERVISOR, str(self.procfile), str(self.restart_delay)],
                                     cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def pids(self) -> dict[str, list[int]]:
        """Every pid each process type was started with, oldest first."""
        found = {name: [] for name in PROCESS_TYPES}
        for line in self.log().splitlines():
            if match := STARTED.match(line):
                found.setdefault(match[1], []).append(int(match[2]))
        return found

    def current(self, name: str) -> int | None:
        pids = self.pids().get(name) or []
        return pids[-1] if pids and alive(pids[-1]) else None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # the supervisor stops its processes
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                kill_group(self.proc.pid)
                self.proc.wait(timeout=5)
        for pids in self.pids().values():  # each child is its own process group: end whatever is left
            for pid in pids:
                kill_group(pid)
        if getattr(self, "_log", None):
            self._log.close()


class MailReceiver:
    """A local SMTP server (aiosmtpd) that logs each message's Message-ID, To and Subject."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list[dict] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                message = email.message_from_bytes(envelope.content)
                message_id = "".join(str(message["Message-ID"]).split())  # a long header comes folded
                with receiver._lock:
                    receiver.messages.append({"message_id": message_id, "to": list(envelope.rcpt_tos),
                                              "subject": message["Subject"]})
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()

    def message_ids(self) -> list[str]:
        with self._lock:
            return [m["message_id"] for m in self.messages]


def temporary_root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="checkstack-chaos-"))
    root.chmod(0o755)  # the postgres user must reach its cluster folder inside
    return root
