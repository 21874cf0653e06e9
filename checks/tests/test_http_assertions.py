"""HTTP check assertions against real local servers: certificate days left (a TLS server whose certificate
expires in 3 days), a JSON assertion on a body saying "degraded", a number as the result's value, and hostile
assertions refused at save."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from checks.assertions import assertion_check, response_scope
from checks.execution import _record
from checks.models import CheckResult
from checks.probes import probe_run

from .config_factories import make_check
from .run_support import make_checked_system
from .servers import HttpTarget
from .tls_support import HttpsTarget, make_certificates

pytestmark = pytest.mark.django_db


@pytest.fixture
def system():
    return make_checked_system()


@pytest.fixture
def certificates(tmp_path, monkeypatch):
    # An hour over three days, so "3 days left" holds for the length of the test.
    ca, certificate, key = make_certificates(tmp_path, expires_in=timedelta(days=3, hours=1))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    return certificate, key


def test_a_certificate_expiring_in_3_days_fails_a_7_day_assertion_and_records_its_days(system, certificates):
    certificate, key = certificates
    with HttpsTarget(certificate=certificate, key=key) as server:
        check = make_check(system, url=f"{server.url}/", tls_expiry_days=7)
        outcome = probe_run(check)
        lenient = probe_run(make_check(system, name="lenient", url=f"{server.url}/", tls_expiry_days=2))
        plain = probe_run(make_check(system, name="plain", url=f"{server.url}/"))

    assert (outcome.ok, outcome.tls_days_left) == (False, 3)
    assert outcome.error == "the TLS certificate expires in 3 days (fewer than 7)"
    assert (lenient.ok, lenient.tls_days_left) == (True, 3)
    assert (plain.ok, plain.tls_days_left) == (True, 3)  # recorded on every https result

    _record(check, None, check.created_at, outcome)
    assert CheckResult.objects.get(check_ref=check).tls_days_left == 3


def test_plain_http_has_no_days_left(system):
    with HttpTarget() as server:
        assert probe_run(make_check(system, url=f"{server.url}/")).tls_days_left is None


def test_tls_expiry_needs_https(system):
    with pytest.raises(ValidationError) as refused:
        make_check(system, url="http://127.0.0.1:9/", tls_expiry_days=7)
    assert refused.value.message_dict == {"tls_expiry_days": ["Only an https URL has a certificate to check."]}


def test_a_degraded_json_body_fails_the_assertion(system):
    body = b'{"status": "degraded", "queue": 12}'
    with HttpTarget(body=body, headers={"Content-Type": "application/json"}) as server:
        failing = probe_run(make_check(system, url=f"{server.url}/health",
                                       json_assertion='response.json.status == "ok"'))
        server.body = b'{"status": "ok", "queue": 12}'
        passing = probe_run(make_check(system, name="b", url=f"{server.url}/health",
                                       json_assertion='response.json.status == "ok" and response.status == 200 and '
                                                      'response.headers["content-type"] == "application/json"'))
        valued = probe_run(make_check(system, name="c", url=f"{server.url}/health",
                                      json_assertion="response.json.queue * 2"))

    assert (failing.ok, failing.error) == (False, 'json_assertion is false: response.json.status == "ok"')
    assert failing.latency_ms is not None
    assert (passing.ok, passing.error) == (True, "")
    assert (valued.ok, valued.value) == (True, 24.0)


def test_an_assertion_error_is_the_results_error():
    scope = response_scope(200, [], b"not json")
    assert scope["response"]["json"] is None
    outcome = assertion_check("response.status / 0 > 1", scope)
    assert (outcome.ok, outcome.error) == (False, "json_assertion: division by zero")
    large = assertion_check("response.json * 10", response_scope(200, [], b'"' + b"a" * 200_000 + b'"'))
    assert large.error == ("json_assertion: expression too large: repeating str 10 times exceeds 1000000 "
                           "characters or items")


@pytest.mark.parametrize("assertion, message", [
    ("'a' * 10**9", "The assertion is refused: expression too large"),
    ("response.json.status ==", "The assertion does not parse"),
    ('{{ response.status }}', "Write the assertion bare"),
])
def test_hostile_or_broken_assertions_are_refused_at_save(system, assertion, message):
    with pytest.raises(ValidationError) as refused:
        make_check(system, url="http://127.0.0.1:9/", json_assertion=assertion)
    assert list(refused.value.message_dict) == ["json_assertion"]
    assert refused.value.message_dict["json_assertion"][0].startswith(message)
