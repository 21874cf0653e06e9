"""The one validator of a check's fields: targets, secrets in headers, bounds that hold on PostgreSQL."""

import pytest
from django.core.exceptions import ValidationError

from automation.secrets import secret_set
from catalog.tests.factories import make_system, make_user
from checks.models import Check
from checks.services import check_create, check_update
from checks.validation import MAX_LENGTHS, check_field_errors, header_secret_names, is_credential_header

from .config_factories import make_check


def errors(**values):
    return check_field_errors({"name": "web", "kind": "http", "url": "http://127.0.0.1/", **values},
                              known_secrets={"API_TOKEN"})


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/healthz", "https://10.1.2.3/", "http://[::1]:8080/",
                                 "http://web/", "http://db.internal.example:5000/x?y=1", "https://example.com"])
def test_private_loopback_and_public_urls_are_allowed(url):
    assert errors(url=url) == {}


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/",
                                 "http://100.100.100.200/", "http://metadata.google.internal/",
                                 "http://[::ffff:169.254.169.254]/", "http://0.0.0.0/", "http://224.0.0.1/",
                                 # IPv4-compatible and NAT64 spellings of the metadata address
                                 "http://[::169.254.169.254]/", "http://[::a9fe:a9fe]/",
                                 "http://[64:ff9b::a9fe:a9fe]/", "http://[64:ff9b::169.254.169.254]/",
                                 "http://[64:ff9b:1::a9fe:a9fe]/", "http://[64:ff9b::e000:1]/"])
def test_metadata_link_local_and_unspecified_targets_are_refused(url):
    assert list(errors(url=url)) == ["url"]
    assert "CHECKSTACK_CHECKS_ALLOWLIST" in errors(url=url)["url"][0]


def test_the_allowlist_lets_a_refused_target_through(settings):
    settings.CHECKSTACK_CHECKS_ALLOWLIST = ["169.254.0.0/16", "metadata.google.internal"]

    assert errors(url="http://169.254.169.254/") == {}
    assert errors(url="http://metadata.google.internal/") == {}
    assert errors(kind="tcp", host="169.254.10.10", port=22) == {}


def test_tcp_and_dns_targets_pass_the_same_guard():
    assert list(errors(kind="tcp", host="169.254.169.254", port=80)) == ["host"]
    assert list(errors(kind="dns", dns_name="example.com", dns_resolver="169.254.169.254")) == ["dns_resolver"]
    assert errors(kind="dns", dns_name="example.com", dns_resolver="127.0.0.1", dns_resolver_port=5353) == {}


@pytest.mark.parametrize("name", ["Authorization", "proxy-authorization", "Cookie", "X-Api-Key", "X-Auth-Token",
                                  "X-Client-Secret", "api_key", "X-Password"])
def test_credential_headers_must_come_from_a_secret(name):
    assert is_credential_header(name)
    assert list(errors(headers={name: "hunter2"})) == ["headers"]
    assert errors(headers={name: '{{ secret("API_TOKEN") }}'}) == {}
    assert errors(headers={name: "Bearer {{ secret('API_TOKEN') }}"}) == {}


@pytest.mark.parametrize("value, message", [
    ('{{ secret("OTHER") }}', "unknown secret 'OTHER'"),
    ('{{ secret("API_TOKEN") | lower }}', "must be output whole"),
    ("{{ secret(name) }}", 'only secret("NAME")'),
    ("{{ request.host }}", 'only secret("NAME")'),
    ('{% if 1 %}{{ secret("API_TOKEN") }}{% endif %}', 'only secret("NAME")'),
    ("{{ secret(", "does not parse"),
])
def test_header_templates_may_only_output_known_secrets(value, message):
    found = errors(headers={"X-Custom": value})
    assert list(found) == ["headers"] and message in found["headers"][0], found


def test_plain_headers_are_fine_and_secret_names_are_read_from_templates():
    assert errors(headers={"Accept": "application/json", "X-Tenant": "blue"}) == {}
    assert header_secret_names({"A": '{{ secret("ONE") }}', "B": "x {{ secret('TWO') }}", "C": "plain"}) == {
        "ONE", "TWO"}


@pytest.mark.parametrize("headers", [{"Bad Name": "x"}, {"X-A": "line\r\nInjected: yes"}, {"X-A": "v" * 1001},
                                     {"X-A": 5}, {f"X-{i}": "x" for i in range(21)}, {"é": "x"}])
def test_header_shapes_and_bounds(headers):
    assert list(errors(headers=headers)) == ["headers"]


@pytest.mark.parametrize("name", ["Host", "host", "Content-Length", "TRANSFER-ENCODING", "Connection"])
def test_headers_that_frame_the_request_are_refused(name):
    assert errors(headers={"Accept": "text/plain", name: "x"}) == {
        "headers": [f"{name!r} is set by the probe itself; remove it."]}


@pytest.mark.parametrize("values, field", [
    ({"interval_seconds": 9}, "interval_seconds"),
    ({"interval_seconds": 86_401}, "interval_seconds"),
    ({"interval_seconds": True}, "interval_seconds"),
    ({"timeout_seconds": 0}, "timeout_seconds"),
    ({"interval_seconds": 10, "timeout_seconds": 10}, "timeout_seconds"),
    ({"kind": "tcp", "host": "db", "port": 65_536}, "port"),
    ({"kind": "tcp", "host": "db", "port": None}, "port"),
    ({"kind": "dns", "dns_name": "example.com", "dns_resolver_port": 10**40}, "dns_resolver_port"),
    ({"expected_status_codes": [200, 600]}, "expected_status_codes"),
    ({"heartbeat_grace_seconds": 86_401}, "heartbeat_grace_seconds"),
    ({"url": "http://exa mple.com/"}, "url"),
    ({"url": "http:///nohost"}, "url"),
    ({"name": "   "}, "name"),
    ({"dns_expected": "a\x00b"}, "dns_expected"),
])
def test_numbers_and_text_out_of_bounds(values, field):
    assert list(errors(**values)) == [field]


def test_only_the_kinds_own_required_fields_are_required():
    assert errors(kind="heartbeat", url="") == {}
    assert sorted(errors(kind="tcp", url="")) == ["host", "port"]
    assert list(errors(kind="dns", url="")) == ["dns_name"]


# --- through the services, on PostgreSQL too: every bound is a field error before any database error


@pytest.mark.django_db
@pytest.mark.postgres
@pytest.mark.parametrize("field", sorted(MAX_LENGTHS))
def test_text_at_its_limit_saves_and_one_more_character_is_a_field_error(field):
    system = make_system()
    limit = MAX_LENGTHS[field]
    long_name = ".".join(["a" * 63] * 3 + ["b" * (limit - 192)])  # labels of at most 63 characters
    fits = {"name": "n" * limit, "url": "http://h/" + "p" * (limit - 9), "body_keyword": "k" * limit,
            "host": long_name, "dns_name": long_name,
            "dns_expected": "e" * limit, "dns_resolver": "", "json_assertion": "'" + "a" * (limit - 2) + "'"}[field]
    kind = {"host": "tcp", "dns_name": "dns", "dns_resolver": "dns"}.get(field, "http")
    base = {"http": {"url": "http://127.0.0.1/"}, "tcp": {"host": "127.0.0.1", "port": 80},
            "dns": {"dns_name": "example.com"}}[kind]

    if field != "dns_resolver":  # no IP address is 45 characters long; its bound is checked below
        check = check_create(system=system, name="fits", kind=kind, **{**base, field: fits}) if field != "name" \
            else check_create(system=system, name=fits, kind=kind, **base)
        assert len(getattr(Check.objects.get(pk=check.pk), field)) == limit

    too_long = {**base, field: "x" * (limit + 1)}
    if field == "name":
        too_long.pop("name")
    with pytest.raises(ValidationError) as caught:
        check_create(system=system, name="x" * (limit + 1) if field == "name" else "long", kind=kind, **too_long)
    assert field in caught.value.message_dict
    assert Check.objects.filter(name__startswith="x").count() == 0 and Check.objects.filter(name="long").count() == 0


@pytest.mark.django_db
@pytest.mark.postgres
def test_huge_numbers_and_long_strings_through_the_api_are_400_on_postgres(admin_api):
    system = make_system()
    for fields in ({"interval_seconds": 2**63}, {"port": 2**40, "kind": "tcp", "host": "db"},
                   {"name": "n" * 10_000}, {"url": "http://h/" + "p" * 5000},
                   {"headers": {"X-A": "v" * 100_000}}, {"heartbeat_grace_seconds": -(2**63)}):
        body = {"system": str(system.pk), "name": "web", "kind": "http", "url": "http://127.0.0.1/", **fields}
        response = admin_api.post("/api/v1/checks/", body, format="json")
        assert response.status_code == 400, (fields, response.content[:200])
    assert not Check.objects.exists()


@pytest.mark.django_db
@pytest.mark.postgres
def test_update_validates_the_result_and_changes_nothing_when_refused():
    check = make_check(interval_seconds=60, timeout_seconds=10)

    with pytest.raises(ValidationError) as caught:
        check_update(check=check, interval_seconds=10)

    assert list(caught.value.message_dict) == ["timeout_seconds"]
    check.refresh_from_db()
    assert check.interval_seconds == 60


@pytest.mark.django_db
def test_a_trusted_caller_needs_no_permission_but_a_user_does():
    secret_set(name="API_TOKEN", value="v")
    system = make_system()
    headers = {"Authorization": '{{ secret("API_TOKEN") }}'}

    check_create(system=system, name="by-command", headers=headers, kind="http", url="http://127.0.0.1/")
    with pytest.raises(ValidationError) as caught:
        check_create(system=system, name="by-user", headers=headers, kind="http", url="http://127.0.0.1/",
                     editor=make_user("someone", "checks.add_check"))

    assert list(caught.value.message_dict) == ["headers"]
    assert list(Check.objects.values_list("name", flat=True)) == ["by-command"]
