#!/usr/bin/env python3
"""Checkstack's two commands, needing only Python 3.11 on a fresh machine.

    python3 dev.py run    set up (virtualenv, packages, migrations, admin user) and start web + worker + beat
    python3 dev.py test   set up and run the whole test suite (SQLite pass, then PostgreSQL + Redis + real workers)
"""

import os
import secrets
import subprocess
import sys
import venv
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


def ensure_virtualenv():
    """Create .venv and install requirements.txt, again only when it changed."""
    if not PYTHON.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / ".requirements-installed"
    wanted = (ROOT / "requirements.txt").read_text()
    if not stamp.exists() or stamp.read_text() != wanted:
        sh(PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", "requirements.txt")
        stamp.write_text(wanted)


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


def run():
    ensure_virtualenv()
    ensure_local_env_file()
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    env.setdefault("SECRET_KEY", local_secret_key())
    env.setdefault("DEBUG", "true")
    sh(PYTHON, "manage.py", "migrate", "--noinput", env=env)
    password = os.environ.get("CHECKSTACK_ADMIN_PASSWORD", "checkstack-admin")
    sh(PYTHON, "manage.py", "ensure_admin", "--username", "admin", "--password", password, env=env)
    port = env.setdefault("PORT", "8000")
    print(
        f"\nCheckstack: http://127.0.0.1:{port}/admin/  (user: admin, password: {password})\n"
        f"Status page: http://127.0.0.1:{port}/status/   API docs: http://127.0.0.1:{port}/api/docs/\n"
        f"Commands: .venv/bin/python manage.py <command>  (e.g. drf_create_token admin for an API token)\n",
        flush=True,
    )
    os.execve(str(BIN / "honcho"), [str(BIN / "honcho"), "start"], env)


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
    ensure_virtualenv()
    ensure_chromium()
    base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "DEBUG"}}
    base["PATH"] = f"{BIN}:{base['PATH']}"
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
        else:
            sys.exit(__doc__)
    except subprocess.CalledProcessError as exc:
        sys.exit(exc.returncode)


if __name__ == "__main__":
    main()
