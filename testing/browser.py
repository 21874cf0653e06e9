"""Headless Chromium for browser tests (Debian's `chromium`): the DOM a visitor gets, a screenshot, and a page a
test can click through (Playwright driving that same Chromium; no browser download)."""

import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
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


@contextmanager
def browser_page():
    """A Playwright page in the system's headless Chromium, for tests that fill forms and follow links."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread, which makes Django refuse ORM calls
    # made by the test between clicks; they are ordinary blocking calls, so allow them for the page's life.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with _launched(sync_playwright) as page:
            yield page
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@contextmanager
def _launched(sync_playwright):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu",
                                                                             "--disable-dev-shm-usage"])
        try:
            page = browser.new_page()
            page.set_default_timeout(20_000)
            yield page
        finally:
            browser.close()


def admin_login(page, base_url: str, next_path: str, *, username: str = "admin",
                password: str = "admin-pass-123") -> None:
    """Log into the admin through its form (the `admin_user` fixture's credentials) and land on `next_path`."""
    page.goto(f"{base_url}/admin/login/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
