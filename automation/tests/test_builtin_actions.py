"""`automation.webhook` against a real local HTTP server, and `automation.email` through Django's backend."""

import ipaddress
import json
import socket

import pytest
from django.core import mail
from pydantic import ValidationError

from automation.builtins.email import message_id
from automation.definitions import action
from automation.tests.definitions_support import run_action, run_context
from foundation.egress import forbidden_reason
from testing.http_receiver import Receiver

SECRET = "Bearer s3cret-token"


@pytest.fixture(scope="module")
def _server():
    with Receiver() as server:  # one for the module: each server takes half a second to stop
        yield server


@pytest.fixture
def receiver(_server):
    _server.requests.clear()
    _server.status = 200
    return _server


@pytest.fixture
def allow_loopback(settings):
    settings.CHECKSTACK_WEBHOOK_ALLOWLIST = ["127.0.0.1"]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_webhook_sends_json_with_the_idempotency_key(receiver, allow_loopback):
    context = run_context(step_path="actions.1", iteration="2")

    outcome, _ = run_action("automation.webhook", {
        "url": receiver.url + "?source=checkstack", "method": "PUT",
        "headers": {"Authorization": SECRET}, "body": {"text": "API down", "n": [1, 2]},
    }, context=context)

    assert (outcome.success, outcome.result, outcome.error) == (True, {"status_code": 200}, None)
    [request] = receiver.requests
    assert request["path"] == "/hook?source=checkstack"
    assert request["body"] == {"text": "API down", "n": [1, 2]}
    assert request["headers"]["Idempotency-Key"] == f"{context.run_id}:actions.1:2"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["Authorization"] == SECRET
    assert SECRET not in json.dumps(outcome.result)  # the step result keeps the status code only


def test_webhook_non_2xx_fails_with_the_status_and_no_header_values(receiver, allow_loopback):
    receiver.status = 503

    outcome, _ = run_action("automation.webhook", {"url": receiver.url, "headers": {"Authorization": SECRET}})

    assert (outcome.success, outcome.error, outcome.result) == (False, "HTTP 503", {"status_code": 503})
    assert len(receiver.requests) == 1


def test_webhook_does_not_follow_redirects(receiver, allow_loopback):
    receiver.status = 302  # whatever Location it might name is never requested

    outcome, _ = run_action("automation.webhook", {"url": receiver.url})

    assert (outcome.success, outcome.error) == (False, "HTTP 302")


def test_webhook_to_loopback_is_refused_without_the_allowlist(receiver, settings):
    settings.CHECKSTACK_WEBHOOK_ALLOWLIST = []

    outcome, _ = run_action("automation.webhook", {"url": receiver.url})

    assert not outcome.success
    assert outcome.error.startswith("refused: the URL's host resolves to 127.0.0.1 (loopback)")
    assert receiver.requests == []


def test_a_refused_target_is_not_named_in_the_error(receiver, settings):
    """A host may carry a secret, and the URL parser lower-cases it (masking matches exact values only)."""
    settings.CHECKSTACK_WEBHOOK_ALLOWLIST = []

    outcome, _ = run_action("automation.webhook", {"url": receiver.url.replace("127.0.0.1", "LocalHost")})

    assert not outcome.success and "(loopback)" in outcome.error
    assert "localhost" not in outcome.error.lower()


@pytest.mark.parametrize("url, reason", [
    ("http://10.0.0.1/hook", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[::1]:8080/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://[::169.254.169.254]/latest/meta-data/", "link-local"),
    ("http://[64:ff9b::a9fe:a9fe]/latest/meta-data/", "link-local"),
    ("http://[64:ff9b::7f00:1]/", "loopback"),
    ("http://[::10.0.0.1]/", "private"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://224.0.0.1/", "multicast"),
    ("http://100.64.0.1/", "not globally routable"),
    ("https://localhost/", "loopback"),
])
def test_webhook_refuses_internal_targets(url, reason, settings):
    settings.CHECKSTACK_WEBHOOK_ALLOWLIST = ["203.0.113.0/24", "example.com"]

    outcome, _ = run_action("automation.webhook", {"url": url})

    assert not outcome.success
    assert f"({reason})" in outcome.error


@pytest.mark.parametrize("allowlist", ["127.0.0.0/8", "localhost, 10.0.0.0/8", ["127.0.0.1"]])
def test_the_allowlist_takes_networks_and_hosts(allowlist, receiver, settings):
    settings.CHECKSTACK_WEBHOOK_ALLOWLIST = allowlist
    url = receiver.url.replace("127.0.0.1", "localhost") if "localhost" in allowlist else receiver.url

    outcome, _ = run_action("automation.webhook", {"url": url, "body": ["ok"]})

    assert outcome.success, outcome.error
    assert receiver.requests[0]["body"] == ["ok"]


def test_the_connection_goes_to_the_address_that_was_checked(receiver, allow_loopback, monkeypatch):
    """DNS rebinding: a second lookup would answer with an internal address; there must be no second lookup."""
    real = socket.getaddrinfo
    port = int(receiver.url.split(":")[2].split("/")[0])
    answers = iter(["127.0.0.1", "10.0.0.1", "10.0.0.1"])
    lookups = []

    def rebinding(host, *args, **kwargs):
        if host != "rebind.test":
            return real(host, *args, **kwargs)
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)

    outcome, _ = run_action("automation.webhook", {"url": f"http://rebind.test:{port}/hook", "timeout_seconds": 2})

    assert outcome.success, outcome.error
    assert lookups == ["rebind.test"]
    assert receiver.requests[0]["headers"]["Host"] == f"rebind.test:{port}"


def test_network_errors_fail_with_their_text(allow_loopback):
    outcome, _ = run_action("automation.webhook", {"url": f"http://127.0.0.1:{closed_port()}/"})
    assert not outcome.success
    assert outcome.error.startswith("ConnectionRefusedError")


def test_a_silent_receiver_is_cut_off_at_the_deadline(allow_loopback):
    with socket.socket() as silent:  # accepts connections (the kernel does) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        outcome, _ = run_action("automation.webhook", {"url": url, "timeout_seconds": 1})

    assert (outcome.success, outcome.error) == (
        False, "deadline exceeded: no complete response within 1.0 s; the connection was cut off")


def test_an_unresolvable_host_fails():
    outcome, _ = run_action("automation.webhook", {"url": "http://no-such-host.invalid/"})
    assert not outcome.success and outcome.error.startswith("gaierror")


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111", "1.1.1.1"])
def test_public_addresses_are_allowed(address):
    assert forbidden_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize("config", [
    {"url": "ftp://example.com/"},
    {"url": "example.com/hook"},
    {"url": "https://user:pass@example.com/"},
    {"url": "https://example.com/", "method": "GET"},
    {"url": "https://example.com/", "timeout_seconds": 31},
    {"url": "https://example.com/", "timeout_seconds": 0},
    {"url": "https://example.com/", "headers": {"X-A": "one\r\nX-B: two"}},
    {"url": "https://example.com/", "headers": {"Idempotency-Key": "mine"}},
    {"url": "https://example.com/", "headers": {"Bad Name": "x"}},
    {"url": "https://example.com/", "retries": 3},
])
def test_webhook_config_refuses(config):
    with pytest.raises(ValidationError):
        action("automation.webhook").config_schema.model_validate(config)


@pytest.fixture
def outbox(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DEFAULT_FROM_EMAIL = "checkstack@example.com"
    mail.outbox = []
    return mail.outbox


def test_email_is_sent_through_the_backend(outbox):
    context = run_context()
    config = {"to": ["ops@example.com", "lead@example.com"], "subject": "API down", "body": "Since 09:00."}

    outcome, _ = run_action("automation.email", config, context=context)

    assert (outcome.success, outcome.result) == (True, {"sent": 1, "recipients": 2})
    [message] = outbox
    assert (message.to, message.subject, message.body, message.from_email) == (
        ["ops@example.com", "lead@example.com"], "API down", "Since 09:00.", "checkstack@example.com",
    )
    assert message.extra_headers["Idempotency-Key"] == context.idempotency_key
    assert message.message()["Message-ID"] == message_id(context.idempotency_key)
    # A retry of the same step carries the same Message-ID; another step a different one.
    assert message_id(context.idempotency_key) == message_id(f"{context.run_id}:actions.0:0")
    assert message_id(context.idempotency_key) != message_id(f"{context.run_id}:actions.1:0")


def test_email_send_failure_fails_the_step(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port(), 2
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False

    outcome, _ = run_action("automation.email", {"to": ["ops@example.com"], "subject": "s"})

    assert not outcome.success and outcome.error.startswith("ConnectionRefusedError")


@pytest.mark.parametrize("config", [
    {"to": [], "subject": "s"},
    {"to": ["not-an-address"], "subject": "s"},
    {"to": ["ops@example.com"], "subject": "one\nBcc: everyone@example.com"},
    {"to": ["ops@example.com"], "subject": ""},
])
def test_email_config_refuses(config):
    with pytest.raises(ValidationError):
        action("automation.email").config_schema.model_validate(config)


def test_both_are_external_actions():
    assert action("automation.webhook").external and action("automation.email").external


def _certificate(tmp_path, name: str):
    """A CA file and a server certificate for `name` it signed (files in tmp_path)."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def build(subject, issuer, key, signer, *, ca: bool):
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(datetime.now(UTC) - timedelta(days=1))
                   .not_valid_after(datetime.now(UTC) + timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if not ca:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Checkstack test CA")])
    ca_cert = build(ca_name, ca_name, ca_key, ca_key, ca=True)
    cert = build(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]), ca_name, key, ca_key, ca=False)
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca_cert.public_bytes(pem))
    (tmp_path / "server.pem").write_bytes(cert.public_bytes(pem) + key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return tmp_path / "ca.pem", tmp_path / "server.pem"


@pytest.fixture
def tls_server(tmp_path, monkeypatch):
    """An HTTPS server on 127.0.0.1 whose certificate names `hooks.test`, which resolves to it."""
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    ca_file, server_file = _certificate(tmp_path, "hooks.test")
    hosts = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # http.server's naming
            self.rfile.read(int(self.headers["Content-Length"]))
            hosts.append(self.headers["Host"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(server_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    port = server.server_address[1]
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **kw: real(
        "127.0.0.1" if host in ("hooks.test", "other.test") else host, *a, **kw))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # trusted by ssl.create_default_context()
    yield port, hosts
    server.shutdown()
    server.server_close()


def test_https_to_a_pinned_address_verifies_the_host_name(tls_server, allow_loopback):
    port, hosts = tls_server

    outcome, _ = run_action("automation.webhook", {"url": f"https://hooks.test:{port}/"})
    refused, _ = run_action("automation.webhook", {"url": f"https://other.test:{port}/"})

    assert (outcome.success, outcome.result) == (True, {"status_code": 204})
    assert hosts == [f"hooks.test:{port}"]  # the certificate named the URL's host, not the address
    assert not refused.success and refused.error.startswith("SSLCertVerificationError")
