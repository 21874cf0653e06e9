"""With DEBUG off under gunicorn (the Procfile's web line), pages are styled: whitenoise serves the collected,
hashed static files."""

import re
import urllib.request

import pytest

from testing.embedded_stack import BASE_DIR, EmbeddedStack, embedded_env, set_up

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
