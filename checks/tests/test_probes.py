"""Probes against real local servers: an HTTP server, a TCP listener, a DNS stub on 127.0.0.1."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from automation.masking import MASK, mask, masking_scope
from automation.secrets import secret_set
from checks.models import CheckKind
from checks.probes import probe_run

from .dns_stub import DnsStub
from .run_support import make_check, make_checked_system
from .servers import HttpTarget, SilentServer, TcpListener, free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def system():
    return make_checked_system()


# --- http ------------------------------------------------------------------------------------------------

def test_http_any_2xx_passes_with_latency(system):
    with HttpTarget(status=204, body=b"") as server:
        outcome = probe_run(make_check(system, url=f"{server.url}/healthz"))
    assert outcome.ok and outcome.error == ""
    assert outcome.latency_ms is not None and 0 <= outcome.latency_ms < 2000
    assert server.requests[0]["method"] == "GET" and server.requests[0]["path"] == "/healthz"


def test_http_unexpected_status_fails_naming_it(system):
    with HttpTarget(status=500) as server:
        outcome = probe_run(make_check(system, url=server.url))
    assert not outcome.ok and outcome.error == "HTTP 500"
    assert outcome.latency_ms is not None


def test_http_listed_codes_replace_2xx(system):
    with HttpTarget(status=404) as server:
        assert probe_run(make_check(system, name="a", url=server.url, expected_status_codes=[404])).ok
        assert not probe_run(make_check(system, name="b", url=server.url, expected_status_codes=[200, 201])).ok


def test_http_redirect_is_not_followed(system):
    with HttpTarget(status=302, headers={"Location": "http://169.254.169.254/"}) as server:
        outcome = probe_run(make_check(system, url=server.url))
        assert len(server.requests) == 1
    assert not outcome.ok and outcome.error == "HTTP 302 (redirects are not followed)"


def test_http_body_keyword_found_or_missing(system):
    with HttpTarget(body=b"status: all systems go") as server:
        assert probe_run(make_check(system, name="a", url=server.url, body_keyword="systems go")).ok
        missing = probe_run(make_check(system, name="b", url=server.url, body_keyword="database"))
    assert not missing.ok and "keyword is not in the body" in missing.error


def test_http_keyword_beyond_the_first_mib_is_not_found(system):
    with HttpTarget(body=b"x" * (1024 * 1024) + b"NEEDLE") as server:
        outcome = probe_run(make_check(system, url=server.url, body_keyword="NEEDLE"))
    assert not outcome.ok


def test_http_method_and_plain_headers_are_sent(system):
    with HttpTarget() as server:
        probe_run(make_check(system, url=server.url, http_method="HEAD", headers={"X-Probe": "yes"}))
    request = server.requests[0]
    assert request["method"] == "HEAD" and request["headers"]["X-Probe"] == "yes"
    assert request["headers"]["User-Agent"].startswith("Checkstack-Check/")


def test_framing_headers_saved_before_they_were_refused_are_not_sent(system):
    # Given a check row written before validation refused framing headers (run_support writes it directly)
    headers = {"Host": "metadata.google.internal", "Connection": "close", "X-Probe": "yes"}
    with HttpTarget() as server:
        outcome = probe_run(make_check(system, url=server.url, headers=headers))
    request = server.requests[0]
    assert outcome.ok, outcome.error
    assert request["headers"]["Host"] == f"127.0.0.1:{server.port}"  # the checked target's, set by the client
    assert "Connection" not in request["headers"] and request["headers"]["X-Probe"] == "yes"


def test_http_secret_header_is_resolved_at_run_time_and_masked_in_errors(system):
    secret_set(name="API_TOKEN", value="s3cr3t-value-123")
    check = make_check(system, url=f"http://127.0.0.1:{free_port()}/",
                       headers={"Authorization": 'Bearer {{ secret("API_TOKEN") }}'})
    with HttpTarget(status=401) as server:
        check.url = server.url
        with masking_scope():
            outcome = probe_run(check)
            error = mask(outcome.error + " " + "s3cr3t-value-123")
    assert server.requests[0]["headers"]["Authorization"] == "Bearer s3cr3t-value-123"
    assert error == f"HTTP 401 {MASK}"  # the caller's mask covers what the probe resolved
    assert check.headers == {"Authorization": 'Bearer {{ secret("API_TOKEN") }}'}  # the stored form is kept


def test_http_unknown_secret_fails_without_sending(system):
    with HttpTarget() as server:
        outcome = probe_run(make_check(system, url=server.url, headers={"Authorization": '{{ secret("NOPE") }}'}))
    assert not outcome.ok and "unknown secret 'NOPE'" in outcome.error and server.requests == []


def test_http_secret_under_a_filter_is_refused(system):
    secret_set(name="API_TOKEN", value="abcdef")
    with HttpTarget() as server:
        outcome = probe_run(make_check(system, url=server.url, headers={"X": '{{ secret("API_TOKEN") | reverse }}'}))
    assert not outcome.ok and "secret() must be output whole" in outcome.error and server.requests == []


def test_http_connection_refused_fails(system):
    outcome = probe_run(make_check(system, url=f"http://127.0.0.1:{free_port()}/"))
    assert not outcome.ok and "ConnectionRefusedError" in outcome.error


def test_http_silent_server_is_cut_off_at_the_timeout(system):
    with SilentServer() as server:
        started = time.monotonic()
        outcome = probe_run(make_check(system, url=server.url, timeout_seconds=1))
        took = time.monotonic() - started
    assert not outcome.ok and outcome.error == "timed out after 1 s"
    assert 0.9 <= took < 2.8  # well short of never; room for a loaded machine


def test_http_slow_server_is_cut_off_at_the_timeout(system):
    with HttpTarget(delay=3) as server:
        started = time.monotonic()
        outcome = probe_run(make_check(system, url=server.url, timeout_seconds=1))
    assert not outcome.ok and outcome.error == "timed out after 1 s" and time.monotonic() - started < 2.8


def test_http_metadata_target_is_refused_without_connecting(system):
    outcome = probe_run(make_check(system, url="http://169.254.169.254/latest/meta-data/"))
    assert not outcome.ok and outcome.error.startswith("refused:") and "link-local" in outcome.error


def test_http_unresolvable_host_fails(system):
    outcome = probe_run(make_check(system, url="http://no-such-host.invalid/"))
    assert not outcome.ok and outcome.error.startswith("cannot resolve the URL's host")


# --- tcp -------------------------------------------------------------------------------------------------

def test_tcp_open_port_passes(system):
    with TcpListener() as listener:
        outcome = probe_run(make_check(system, kind=CheckKind.TCP, host="127.0.0.1", port=listener.port))
    assert outcome.ok and outcome.latency_ms is not None


def test_tcp_closed_port_fails(system):
    outcome = probe_run(make_check(system, kind=CheckKind.TCP, host="localhost", port=free_port()))
    assert not outcome.ok and "ConnectionRefusedError" in outcome.error


def test_tcp_metadata_address_is_refused(system):
    outcome = probe_run(make_check(system, kind=CheckKind.TCP, host="169.254.169.254", port=80))
    assert not outcome.ok and outcome.error.startswith("refused:")


# --- dns -------------------------------------------------------------------------------------------------

RECORDS = {("api.example.test", "A"): ["10.0.0.7", "10.0.0.8"],
           ("example.test", "MX"): ["10 mail.example.test."],
           ("example.test", "TXT"): ['"v=spf1 -all"']}


def _dns_check(system, stub, **fields):
    fields.setdefault("dns_name", "api.example.test")
    return make_check(system, name=f"dns-{len(stub.queries)}-{fields.get('dns_expected', '')}", kind=CheckKind.DNS,
                      dns_resolver="127.0.0.1", dns_resolver_port=stub.port, **fields)


def test_dns_any_answer_passes_and_expected_matches_any_record(system):
    with DnsStub(RECORDS) as stub:
        assert probe_run(_dns_check(system, stub)).ok
        assert probe_run(_dns_check(system, stub, dns_expected="10.0.0.8")).ok
        wrong = probe_run(_dns_check(system, stub, dns_expected="10.0.0.9"))
    assert not wrong.ok and wrong.error == "no A record matches '10.0.0.9'"
    assert stub.queries[0] == ("api.example.test", "A")


def test_dns_mx_and_txt_match_by_their_text(system):
    with DnsStub(RECORDS) as stub:
        assert probe_run(_dns_check(system, stub, dns_name="example.test", dns_record_type="MX",
                                    dns_expected="mail.example.test")).ok
        assert probe_run(_dns_check(system, stub, dns_name="example.test", dns_record_type="TXT",
                                    dns_expected="v=spf1 -all")).ok


def test_dns_nxdomain_and_missing_type_fail(system):
    with DnsStub(RECORDS) as stub:
        nx = probe_run(_dns_check(system, stub, dns_name="nope.example.test"))
        empty = probe_run(_dns_check(system, stub, dns_record_type="AAAA"))
    assert not nx.ok and nx.error == "nope.example.test A: NXDOMAIN"
    assert not empty.ok and empty.error == "api.example.test has no AAAA record"


def test_dns_silent_resolver_times_out_by_the_deadline(system):
    with DnsStub(RECORDS, silent=True) as stub:
        started = time.monotonic()
        outcome = probe_run(_dns_check(system, stub, timeout_seconds=1))
    assert not outcome.ok and outcome.error == "timed out after 1 s" and time.monotonic() - started < 2.8


def test_dns_link_local_resolver_is_refused(system):
    check = make_check(system, kind=CheckKind.DNS, dns_name="example.test", dns_resolver="169.254.1.1")
    outcome = probe_run(check)
    assert not outcome.ok and outcome.error.startswith("refused resolver:")


# --- heartbeat -------------------------------------------------------------------------------------------

def test_heartbeat_passes_until_period_plus_grace_after_the_last_ping(system):
    check = make_check(system, kind=CheckKind.HEARTBEAT, interval_seconds=60, heartbeat_grace_seconds=30)
    check.last_ping_at = timezone.now() - timedelta(seconds=80)
    check.save()
    assert probe_run(check, now=check.last_ping_at + timedelta(seconds=90)).ok
    late = probe_run(check, now=check.last_ping_at + timedelta(seconds=95))
    assert not late.ok and "5 s past period + grace" in late.error and late.latency_ms is None


def test_heartbeat_never_pinged_counts_from_creation(system):
    check = make_check(system, kind=CheckKind.HEARTBEAT, interval_seconds=10, heartbeat_grace_seconds=5)
    assert probe_run(check, now=check.created_at + timedelta(seconds=15)).ok
    outcome = probe_run(check, now=check.created_at + timedelta(seconds=17))
    assert not outcome.ok and outcome.error == "no ping received yet (2 s past period + grace)"
