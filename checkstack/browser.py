"""Headless Chromium for browser tests (Debian's `chromium`): the DOM a visitor gets, and a screenshot."""

import shutil
import subprocess
import tempfile
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage"]


class BrowserMissing(RuntimeError):
    pass


def _chromium() -> str:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        raise BrowserMissing("Chromium is not installed (apt-get install chromium); the README's test command "
                             "installs it")
    return binary


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([_chromium(), *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                              text=True, timeout=timeout, check=True)


def dump_dom(url: str, timeout: float = 60) -> str:
    """The page's DOM after it loaded, as Chromium rendered it."""
    return _run(["--dump-dom", url], timeout).stdout


def screenshot(url: str, path: Path, size=(1280, 900), timeout: float = 60) -> Path:
    _run([f"--screenshot={path}", f"--window-size={size[0]},{size[1]}", url], timeout)
    return path
