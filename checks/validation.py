"""The one validator of a check's fields: the API serializer, the admin form and the services all call it.

`check_field_errors` is pure: it reads the complete field values of a check (a new one's, or an edited
one's after the edit) and returns `{field: [messages]}`. Every length and number is bounded here, so a
long string or a huge number is a field error, never a database error. `check_validate` adds what needs
the database and the editor: the name unique per system, the named secrets existing, and the editor's
right to use secrets.

Secrets in headers follow the automations' rule (automation/services/permissions.py): secrets have no
per-secret scopes, and using any of them needs `automation.use_secret`. A check naming a secret sends it
wherever the check points, and whoever may change the check may point it anywhere, so every save of a
check whose headers name a secret needs that permission, whatever field the save changes.
"""

import ipaddress
import re
from collections.abc import Collection, Mapping
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from jinja2 import nodes

from automation.definitions import USE_SECRET
from automation.expressions.evaluate import ExpressionError, parse_template, template_references
from automation.expressions.secret_use import template_secret_errors

from .models import (
    ERROR_MAX_LENGTH,
    MAX_INTERVAL_SECONDS,
    MAX_TIMEOUT_SECONDS,
    MIN_INTERVAL_SECONDS,
    CheckKind,
    DnsRecordType,
    HttpMethod,
)
from .targets import refused_host_reason

__all__ = ["ERROR_MAX_LENGTH", "check_field_errors", "check_validate", "header_secret_names"]

# Longest text of each field (the model's column sizes: longer would be a database error on PostgreSQL).
MAX_LENGTHS = {"name": 200, "url": 2000, "body_keyword": 200, "host": 253, "dns_name": 253,
               "dns_expected": 500, "dns_resolver": 45, "json_assertion": 2000}
MAX_TLS_EXPIRY_DAYS = 3650
MAX_HEADERS = 20
MAX_HEADER_NAME = 100
MAX_HEADER_VALUE = 1000
MAX_STATUS_CODES = 50
MAX_GRACE_SECONDS = 86_400
# RFC 9110 token characters: what a header name may be made of.
HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
HOST_NAME = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$")
# Headers that carry a credential: their value must come from a secret, never sit in the check in clear.
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key", "api-key"})
CREDENTIAL_WORDS = ("token", "secret", "password", "apikey", "api-key", "api_key")
# Headers that frame the request or the connection: the probe sets them itself. Given by a check, they would
# split or smuggle requests (Content-Length, Transfer-Encoding), keep a socket open (Connection) or name another
# virtual host than the one the guard checked (Host).
FRAMING_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
SECRET_ONLY = 'header values may use only secret("NAME") in {{ }}; no other expression'
NEEDS_SECRET = "this header carries a credential: give its value with a secret, e.g. Bearer {{ secret('API_TOKEN') }}"

# Fields of each kind that must be given.
REQUIRED = {CheckKind.HTTP: ("url",), CheckKind.TCP: ("host", "port"), CheckKind.DNS: ("dns_name",),
            CheckKind.HEARTBEAT: (), CheckKind.PING: ("host",)}
# Every field a check's configuration has, with its default (a new check starts from these).
DEFAULTS = {
    "name": "", "kind": "", "enabled": True, "interval_seconds": 60, "timeout_seconds": 10,
    "url": "", "http_method": HttpMethod.GET, "expected_status_codes": [], "body_keyword": "", "headers": {},
    "tls_expiry_days": None, "json_assertion": "",
    "host": "", "port": None,
    "dns_name": "", "dns_record_type": DnsRecordType.A, "dns_expected": "", "dns_resolver": "",
    "dns_resolver_port": 53,
    "heartbeat_grace_seconds": 60,
    "health_quorum": None,
}
MAX_QUORUM = 100
CONFIG_FIELDS = tuple(DEFAULTS)


def is_credential_header(name: str) -> bool:
    lowered = name.lower()
    return lowered in CREDENTIAL_HEADERS or any(word in lowered for word in CREDENTIAL_WORDS)


def _int_errors(value, low: int, high: int, *, nullable: bool = False) -> list[str]:
    if value is None and nullable:
        return []
    if isinstance(value, bool) or not isinstance(value, int):
        return ["Enter a whole number."]
    if not low <= value <= high:
        return [f"Must be between {low} and {high}."]
    return []


def _text_errors(name: str, value) -> list[str]:
    if not isinstance(value, str):
        return ["Enter text."]
    if len(value) > MAX_LENGTHS[name]:
        return [f"At most {MAX_LENGTHS[name]} characters (this has {len(value)})."]
    if any(char in value for char in "\x00\r\n"):
        return ["Line breaks and NUL characters are not allowed."]
    return []


def _url_errors(url: str) -> list[str]:
    if any(char.isspace() for char in url):
        return ["A URL has no spaces."]
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as exc:
        return [f"Not a valid URL: {exc}."]
    if parts.scheme not in ("http", "https"):
        return ["The URL must start with http:// or https://."]
    if not parts.hostname:
        return ["The URL needs a host."]
    if parts.username is not None or parts.password is not None:
        return ['Put credentials in a header with a secret, not in the URL.']
    reason = refused_host_reason(parts.hostname)
    return [f"Refused target: {reason}."] if reason else []


def _host_errors(host: str) -> list[str]:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        if not HOST_NAME.match(host):
            return ["Enter a host name or an IP address."]
    reason = refused_host_reason(host)
    return [f"Refused target: {reason}."] if reason else []


def _status_code_errors(codes) -> list[str]:
    if not isinstance(codes, list):
        return ["Give a list of status codes."]
    if len(codes) > MAX_STATUS_CODES:
        return [f"At most {MAX_STATUS_CODES} status codes."]
    if any(isinstance(code, bool) or not isinstance(code, int) or not 100 <= code <= 599 for code in codes):
        return ["Each status code is a whole number from 100 to 599."]
    return []


def header_secret_names(headers) -> set[str]:
    """The secret names the headers' values use (empty for headers that are not a mapping of text)."""
    names = set()
    for value in headers.values() if isinstance(headers, Mapping) else ():
        if isinstance(value, str) and "{" in value:
            try:
                names.update(template_references(value)[1])
            except ExpressionError:
                continue
    return names - {""}


def _header_value_errors(name: str, value: str, known_secrets: Collection[str] | None) -> list[str]:
    if len(value) > MAX_HEADER_VALUE:
        return [f"{name}: at most {MAX_HEADER_VALUE} characters."]
    if any(char in value for char in "\x00\r\n"):
        return [f"{name}: line breaks and NUL characters are not allowed."]
    secrets: frozenset = frozenset()
    if "{{" in value or "{%" in value:
        try:
            tree = parse_template(value)
            secrets = template_references(value)[1]
        except ExpressionError as exc:
            return [f"{name}: the template does not parse: {exc}"]
        if any(node.name != "secret" for node in tree.find_all(nodes.Name)) or any(
            not isinstance(node, (nodes.Output, nodes.TemplateData)) for node in tree.body
        ):
            return [f"{name}: {SECRET_ONLY}"]
        misuses = template_secret_errors(value, allowed=True)
        if misuses:
            return [f"{name}: {message}" for message in misuses]
    if not secrets and is_credential_header(name):
        return [f"{name}: {NEEDS_SECRET}"]
    if known_secrets is not None:
        return [f"{name}: unknown secret {secret!r}" for secret in sorted(secrets) if secret not in known_secrets]
    return []


def _headers_errors(headers, known_secrets: Collection[str] | None) -> list[str]:
    if not isinstance(headers, Mapping):
        return ["Headers are a mapping of names to text values."]
    if len(headers) > MAX_HEADERS:
        return [f"At most {MAX_HEADERS} headers."]
    errors = []
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            errors.append("Header names and values are text.")
        elif len(name) > MAX_HEADER_NAME or not HEADER_NAME.match(name):
            errors.append(f"{name[:MAX_HEADER_NAME]!r} is not a valid header name.")
        elif name.lower() in FRAMING_HEADERS:
            errors.append(f"{name!r} is set by the probe itself; remove it.")
        else:
            errors.extend(_header_value_errors(name, value, known_secrets))
    return errors


def _common_errors(values: Mapping) -> dict[str, list[str]]:
    errors = {
        "interval_seconds": _int_errors(values["interval_seconds"], MIN_INTERVAL_SECONDS, MAX_INTERVAL_SECONDS),
        "timeout_seconds": _int_errors(values["timeout_seconds"], 1, MAX_TIMEOUT_SECONDS),
        "port": _int_errors(values["port"], 1, 65_535, nullable=True),
        "dns_resolver_port": _int_errors(values["dns_resolver_port"], 1, 65_535),
        "heartbeat_grace_seconds": _int_errors(values["heartbeat_grace_seconds"], 0, MAX_GRACE_SECONDS),
        "expected_status_codes": _status_code_errors(values["expected_status_codes"]),
    }
    for name in MAX_LENGTHS:
        errors[name] = _text_errors(name, values[name])
    if not isinstance(values["enabled"], bool):
        errors["enabled"] = ["Enter true or false."]
    if not errors["name"] and not values["name"].strip():
        errors["name"] = ["A check needs a name."]
    choices = {"kind": CheckKind.values, "http_method": HttpMethod.values, "dns_record_type": DnsRecordType.values}
    for name, allowed in choices.items():
        if values[name] not in allowed:
            errors[name] = [f"Choose one of: {', '.join(allowed)}."]
    interval, timeout = values["interval_seconds"], values["timeout_seconds"]
    if not errors["interval_seconds"] and not errors["timeout_seconds"] and timeout >= interval:
        errors["timeout_seconds"] = ["The timeout must be shorter than the interval."]
    return errors


def _kind_errors(values: Mapping, errors: dict, known_secrets) -> None:
    kind = values["kind"]
    for name in REQUIRED.get(kind, ()):
        if values[name] in ("", None) and not errors[name]:
            errors[name] = [f"A {kind} check needs this field."]
    if kind == CheckKind.HTTP and values["url"] and not errors["url"]:
        errors["url"] = _url_errors(values["url"])
    if kind == CheckKind.HTTP:
        _assertion_errors(values, errors)
    if kind in (CheckKind.TCP, CheckKind.PING) and values["host"] and not errors["host"]:
        errors["host"] = _host_errors(values["host"])
    dns_name = values["dns_name"]
    if kind == CheckKind.DNS and dns_name and not errors["dns_name"] and not HOST_NAME.match(dns_name):
        errors["dns_name"] = ["Enter a domain name."]
    if kind == CheckKind.DNS and values["dns_resolver"] and not errors["dns_resolver"]:
        try:
            ipaddress.ip_address(values["dns_resolver"])
        except ValueError:
            errors["dns_resolver"] = ["The resolver is an IP address (empty: the system's resolver)."]
        else:
            reason = refused_host_reason(values["dns_resolver"])
            errors["dns_resolver"] = [f"Refused target: {reason}."] if reason else []
    # Headers are validated whatever the kind: they are stored, and may name secrets.
    errors["headers"] = _headers_errors(values["headers"], known_secrets)


def _assertion_errors(values: Mapping, errors: dict) -> None:
    from .assertions import assertion_errors

    days = values["tls_expiry_days"]
    if days is not None:
        errors["tls_expiry_days"] = _int_errors(days, 1, MAX_TLS_EXPIRY_DAYS, nullable=True)
        if not errors["tls_expiry_days"] and not str(values["url"]).lower().startswith("https://"):
            errors["tls_expiry_days"] = ["Only an https URL has a certificate to check."]
    if values["json_assertion"] and not errors["json_assertion"]:
        errors["json_assertion"] = assertion_errors(values["json_assertion"])


def check_field_errors(values: Mapping, *, known_secrets: Collection[str] | None = None) -> dict[str, list[str]]:
    """`{field: [messages]}` for a check's complete field values (missing ones take their defaults).

    With `known_secrets`, a header naming a secret not in it is an error; None skips that test.
    """
    full = {**DEFAULTS, **{name: value for name, value in values.items() if name in DEFAULTS}}
    errors = _common_errors(full)
    _kind_errors(full, errors, known_secrets)
    if full["health_quorum"] is not None:
        errors.setdefault("health_quorum", []).extend(_int_errors(full["health_quorum"], 1, MAX_QUORUM))
    return {name: messages for name, messages in errors.items() if messages}


def check_validate(*, values: Mapping, system=None, editor=None, check=None) -> None:
    """Raise ValidationError `{field: [messages]}` unless these complete values make a valid check.

    `system` (its id or row) and `check` (the one being edited, if any) let the name be tested for
    uniqueness; `editor` (None: a trusted caller such as a command) must hold `automation.use_secret`
    when the headers name a secret.
    """
    from automation.secrets import secret_names

    from .models import Check

    errors = check_field_errors(values, known_secrets=secret_names())
    uses_secrets = header_secret_names(values.get("headers"))
    if uses_secrets and editor is not None and not editor.has_perm(USE_SECRET):
        errors.setdefault("headers", []).append(
            f"Headers that use secrets need the {USE_SECRET} permission (whoever may change this check may "
            f"point it anywhere, and its secrets go with it)."
        )
    name = values.get("name")
    if system is not None and "name" not in errors and isinstance(name, str):
        taken = Check.objects.filter(system=system, name=name)
        if check is not None:
            taken = taken.exclude(pk=check.pk)
        if taken.exists():
            errors["name"] = ["This system already has a check with this name."]
    if errors:
        raise ValidationError(errors)
