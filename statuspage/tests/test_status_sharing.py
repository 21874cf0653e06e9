"""The public pages are one response for everyone: no Vary: Cookie, gzip for who asks, served from the cache
before sessions; and the history's monthly uptime line."""

import gzip
from datetime import UTC, timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.services import health_report, system_create
from checks.history import history_refresh
from checks.models import Check, CheckDailyRollup
from incidents.services import incident_create

pytestmark = pytest.mark.django_db


def with_checks(name: str, *, failures: int = 0):
    system = system_create(name=name, actor="system")
    health_report(system=system, status="healthy", actor="system")
    check = Check.objects.create(system=system, name="web", kind="http", url="http://127.0.0.1:9/")
    CheckDailyRollup.objects.create(check_ref=check, day=timezone.now().astimezone(UTC).date() - timedelta(days=1),
                                    runs=1000, failures=failures)
    history_refresh(now=timezone.now())
    return system


def public_paths(system) -> list[str]:
    return ["/status/", "/status/summary.json", "/status/feed.atom", "/status/feed.rss", "/status/history/",
            "/status/maintenance.ics", f"/status/systems/{system.pk}/", f"/status/badge/{system.pk}.svg",
            f"/status/badge/{system.pk}/uptime.svg"]


def test_public_pages_never_vary_on_cookie_even_for_a_signed_in_visitor(admin_user):
    system = with_checks("Shop")
    incident_create(title="Slow", system_ids=[system.pk], initial_message="Looking", actor="system")
    signed_in = Client()
    signed_in.force_login(admin_user)

    for client in (Client(), signed_in):
        for path in public_paths(system):
            response = client.get(path)
            assert response.status_code == 200, path
            assert "Cookie" not in response.get("Vary", ""), path
            assert "Set-Cookie" not in response.headers and not response.cookies, path
            assert "public" in response["Cache-Control"] and response["ETag"], path
    # The admin still reads the session (and so varies on it).
    assert "Cookie" in signed_in.get("/admin/").get("Vary", "")


def test_gzip_for_clients_that_accept_it_same_page_and_a_weak_etag_that_still_gives_304():
    with_checks("Shop")
    plain = Client().get("/status/")
    packed = Client().get("/status/", HTTP_ACCEPT_ENCODING="gzip")

    assert "Content-Encoding" not in plain.headers
    assert packed["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed["Vary"]
    assert gzip.decompress(packed.content) == plain.content
    assert len(packed.content) < len(plain.content) / 2  # one system: the fleet page packs far better
    assert packed["ETag"] == "W/" + plain["ETag"]
    again = Client().get("/status/", HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=packed["ETag"])
    assert again.status_code == 304 and again.content == b""


@override_settings(
    MIDDLEWARE=["django.middleware.cache.UpdateCacheMiddleware", "django.middleware.cache.FetchFromCacheMiddleware",
                *settings.MIDDLEWARE],
    CACHE_MIDDLEWARE_SECONDS=0, CACHE_MIDDLEWARE_KEY_PREFIX="status-test",
    CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "status-test"}})
def test_the_server_cache_serves_a_hit_to_anyone_without_a_query(admin_user):
    with_checks("Shop")
    first = Client().get("/status/")
    signed_in = Client()
    signed_in.force_login(admin_user)

    with CaptureQueriesContext(connection) as queries:
        hit = signed_in.get("/status/")

    assert len(queries) == 0  # not even the session or the user: a hit is the stored response
    assert hit.content == first.content and hit["ETag"] == first["ETag"]
    # The admin is never kept: it says neither public nor max-age.
    assert signed_in.get("/admin/").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert signed_in.get("/admin/").status_code == 200
    assert len(queries) > 0


def history_queries() -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = Client().get("/status/history/")
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_the_history_shows_each_systems_uptime_by_month_in_a_constant_number_of_queries():
    with_checks("Shop", failures=10)
    system_create(name="Without checks", actor="system")
    one, html = history_queries()
    assert html.count('<section class="monthly-uptime"') == 1
    assert '<th scope="row">Shop</th>' in html and "Without checks" not in html
    assert html.count('<th scope="col">') == 4  # the system column and three months
    yesterday = timezone.now().astimezone(UTC).date() - timedelta(days=1)
    assert f'<th scope="col">{yesterday:%B %Y}</th>' in html
    assert "<td>99.00 %</td>" in html  # 990 of 1000 runs, the month of yesterday's roll-up
    for n in range(5):
        with_checks(f"s{n}")

    many, html = history_queries()

    assert many == one and html.count('<th scope="row">') == 6
    names = [html.index(f"<th scope=\"row\">{name}</th>") for name in ("s0", "s1", "s4")]
    assert names == sorted(names)  # by name
