"""/ping/<token>: the one anonymous write. Records a heartbeat's ping and nothing else."""

import logging
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from checks.models import Check
from checks.services import heartbeat_token_regenerate

from .config_factories import make_check

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def ping(token, method="get", client=None):
    return getattr(client or Client(), method)(f"/ping/{token}")


@pytest.mark.parametrize("method", ["get", "post", "head"])
def test_an_anonymous_ping_records_the_time_and_answers_a_tiny_text(method):
    beat = make_check(kind="heartbeat", name="beat")
    before = timezone.now()

    response = ping(beat.heartbeat_token, method, Client(enforce_csrf_checks=True))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    if method != "head":
        assert response.content == b"OK\n"
    assert not response.cookies  # no session, no CSRF cookie
    beat.refresh_from_db()
    assert before <= beat.last_ping_at <= timezone.now()


def test_unknown_malformed_or_non_heartbeat_tokens_are_404_and_write_nothing():
    http = make_check(name="web")  # has a token column too, but no ping URL
    beat = make_check(http.system, kind="heartbeat", name="beat")

    for token in ("A" * 43, "short", "x" * 65, "bad.token!", http.heartbeat_token):
        response = ping(token)
        assert (response.status_code, response.content) == (404, b"not found\n"), token
    assert ping(f"{beat.heartbeat_token}/extra").status_code == 404
    assert not Check.objects.filter(last_ping_at__isnull=False).exists()


def test_other_methods_are_refused():
    beat = make_check(kind="heartbeat", name="beat")

    for method in ("put", "delete", "patch"):
        assert ping(beat.heartbeat_token, method).status_code == 405
    beat.refresh_from_db()
    assert beat.last_ping_at is None


def test_pings_are_rate_limited_per_token(settings):
    settings.CHECKSTACK_PING_LIMIT_PER_TOKEN = 3
    settings.CHECKSTACK_PING_LIMIT_WINDOW_SECONDS = 60
    beat = make_check(kind="heartbeat", name="beat")
    other = make_check(beat.system, kind="heartbeat", name="other")

    codes = [ping(beat.heartbeat_token).status_code for _ in range(4)]
    beat.refresh_from_db()
    first_ping = beat.last_ping_at
    limited = ping(beat.heartbeat_token)

    assert codes == [200, 200, 200, 429]
    assert limited.status_code == 429 and 1 <= int(limited["Retry-After"]) <= 60
    beat.refresh_from_db()
    assert beat.last_ping_at == first_ping  # a refused ping writes nothing
    assert ping(other.heartbeat_token).status_code == 200  # the limit is per token


def test_a_ping_makes_a_failing_heartbeat_due_now():
    beat = make_check(kind="heartbeat", name="beat")
    later = timezone.now() + timedelta(minutes=5)
    Check.objects.filter(pk=beat.pk).update(next_run_at=later, last_ok=False, consecutive_failures=4)
    before = timezone.now()

    assert ping(beat.heartbeat_token).status_code == 200

    beat.refresh_from_db()
    assert before <= beat.next_run_at <= timezone.now()
    # The run, not the ping, decides the result: the failure count is the runner's to reset.
    assert (beat.last_ok, beat.consecutive_failures) == (False, 4)


def test_a_ping_leaves_a_passing_heartbeats_schedule_alone():
    beat = make_check(kind="heartbeat", name="beat")
    later = timezone.now() + timedelta(minutes=5)
    Check.objects.filter(pk=beat.pk).update(next_run_at=later, last_ok=True)

    ping(beat.heartbeat_token)

    beat.refresh_from_db()
    assert beat.next_run_at == later and beat.last_ping_at is not None


def test_a_regenerated_token_retires_the_old_url():
    beat = make_check(kind="heartbeat", name="beat")
    old = beat.heartbeat_token

    heartbeat_token_regenerate(check=beat)

    assert ping(old).status_code == 404
    assert ping(beat.heartbeat_token).status_code == 200


def test_an_unknown_token_costs_one_read_on_the_token_index_and_writes_nothing(settings):
    settings.CHECKSTACK_PING_LIMIT_PER_CLIENT = 2
    beat = make_check(kind="heartbeat", name="beat")
    unknown = "A" * 43  # well-formed: the shape of a real token

    with CaptureQueriesContext(connection) as queries:
        response = ping(unknown)
    with CaptureQueriesContext(connection) as malformed:
        ping("bad.token!")

    assert (response.status_code, response.content) == (404, b"not found\n")
    assert len(queries) == 1, [q["sql"] for q in queries]
    sql = queries[0]["sql"]
    # One SELECT on the token's unique index: no cache read or write, no transaction, no UPDATE
    assert sql.startswith("SELECT") and '"checks_check"."heartbeat_token" = ' in sql
    assert len(malformed) == 0
    # Unknown tokens counted nothing, not even against their client: a real ping from it still passes twice
    for _ in range(5):
        ping(unknown)
    assert [ping(beat.heartbeat_token).status_code for _ in range(3)] == [200, 200, 429]


def test_pings_are_rate_limited_per_client_across_tokens(settings):
    settings.CHECKSTACK_PING_LIMIT_PER_CLIENT = 3
    first = make_check(kind="heartbeat", name="beat-0")
    beats = [first] + [make_check(first.system, kind="heartbeat", name=f"beat-{n}") for n in range(1, 5)]
    busy, other = Client(REMOTE_ADDR="203.0.113.5"), Client(REMOTE_ADDR="203.0.113.6")

    codes = [ping(beat.heartbeat_token, client=busy).status_code for beat in beats]

    assert codes == [200, 200, 200, 429, 429]
    assert ping(beats[4].heartbeat_token, client=other).status_code == 200  # the limit is per client
    pinged = Check.objects.filter(last_ping_at__isnull=False).values_list("name", flat=True)
    assert sorted(pinged) == ["beat-0", "beat-1", "beat-2", "beat-4"]


def test_no_log_record_carries_a_token(settings, caplog):
    settings.CHECKSTACK_PING_LIMIT_PER_TOKEN = 1
    beat = make_check(kind="heartbeat", name="beat")
    token, unknown = beat.heartbeat_token, "B" * 43

    with caplog.at_level(logging.DEBUG):
        codes = [ping(token).status_code, ping(token).status_code, ping(token, "put").status_code,
                 ping(unknown).status_code, ping(f"{token}/extra").status_code]
        # gunicorn's access line (its logger is routed through ours by LOGGING)
        logging.getLogger("gunicorn.access").info('%(h)s "%(r)s" %(s)s',
                                                  {"h": "203.0.113.5", "r": f"GET /ping/{token} HTTP/1.1", "s": "200"})

    assert codes == [200, 429, 405, 404, 404]
    messages = [record.getMessage() for record in caplog.records]
    assert f"pings of heartbeat check {beat.pk} refused: over the per-token limit" in messages
    assert "Too Many Requests: /ping/<token>" in messages
    assert "Not Found: /ping/<token>" in messages and "Not Found: /ping/<token>/extra" in messages
    assert "Method Not Allowed (PUT): /ping/<token>" in messages
    assert '203.0.113.5 "GET /ping/<token> HTTP/1.1" 200' in messages
    assert not [m for m in messages if token in m or unknown in m]
