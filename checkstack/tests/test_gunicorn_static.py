"""With DEBUG off under gunicorn (the Procfile's web line), pages are styled: whitenoise serves the collected,
hashed static files; and the supervisor restarts it when it dies."""

import os
import re
import signal
import urllib.request

import pytest

from testing.embedded_stack import BASE_DIR, EmbeddedStack, embedded_env, set_up
from testing.process_fixtures import wait_for

pytestmark = pytest.mark.integration


def get(url: str):
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read().decode(errors="replace")


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("gunicorn")
    env = embedded_env(tmp_path / "var", WEB_CONCURRENCY=1, GUNICORN_THREADS=2)  # DEBUG unset: off
    set_up(env)
    [web_line] = [line for line in (BASE_DIR / "Procfile").read_text().splitlines() if line.startswith("web:")]
    stack = EmbeddedStack(tmp_path, env, web_line + "\n")
    stack.start(ready=False)
    yield stack
    stack.stop()


@pytest.mark.parametrize("page", ["/status/", "/admin/login/"])
def test_a_page_links_stylesheets_that_gunicorn_serves_as_css(web, page):
    status, _, html = get(f"{web.url}{page}")
    stylesheets = re.findall(r'<link rel="stylesheet"[^>]*href="([^"]+\.css)"', html)

    assert status == 200 and stylesheets, html[:2000]
    for href in stylesheets:
        # Hashed names from the manifest (collectstatic), served with far-future caching
        assert re.search(r"\.[0-9a-f]{12}\.css$", href), href
        css_status, content_type, body = get(f"{web.url}{href}")
        assert (css_status, content_type.split(";")[0]) == (200, "text/css"), href
        assert "{" in body


def test_the_supervisor_restarts_a_web_process_that_dies(web):
    # Given the web process running under dev.py's supervisor (the last test here: it replaces the process)
    [pid] = re.findall(r"web +\| started \(pid (\d+)\)", web.log())

    # When its whole process group is killed
    os.killpg(int(pid), signal.SIGKILL)

    # Then the supervisor logs which process died and why, and starts it again
    wait_for(lambda: "web was killed by SIGKILL; restarting in 1s" in web.log(), timeout=20, what="the log line")
    wait_for(lambda: len(re.findall(r"web +\| started", web.log())) == 2, timeout=20, what="a second start")
    wait_for(web.web_answers, timeout=60, interval=0.5, what="gunicorn to answer again")
