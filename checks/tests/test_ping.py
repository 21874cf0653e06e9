"""/ping/<token>: the one anonymous write. Records a heartbeat's ping and nothing else."""

from datetime import timedelta

import pytest
from django.test import Client
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
