"""`automation.webhook`: send a JSON request to an outside HTTP endpoint.

Internal targets are refused (see `egress`). Redirects are not followed: a 3xx fails the step, so a
public endpoint cannot bounce the request to an internal one. The step result keeps the status code only:
headers and bodies may carry secrets or personal data.
"""

import json
import re
from http.client import HTTPException
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from foundation.deadline import cut_off_at, seconds_left
from foundation.egress import TargetRefused, open_connection, resolve_target

from ..definitions import ActionContext, ActionDefinition, ActionOutcome, register_action

TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")  # RFC 9110 header field name
RESERVED_HEADERS = {"host", "content-length", "idempotency-key", "transfer-encoding", "connection"}
MAX_RESPONSE_READ = 64 * 1024  # drained so the connection closes cleanly; never stored


class WebhookConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2048, description="http:// or https:// URL of a public host.")
    method: Literal["POST", "PUT"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers.")
    body: Any = Field(default_factory=dict, description="Any JSON value, sent as the request body.")
    timeout_seconds: int = Field(default=10, ge=1, le=30,
                                 description="Seconds the whole request may take: connect, send and response.")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        if parts.username or parts.password:
            raise ValueError("must not carry credentials; send them in a header")
        if any(ch in value for ch in "\r\n\t "):
            raise ValueError("must not contain whitespace")
        return value

    @field_validator("headers")
    @classmethod
    def _safe_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, header_value in value.items():
            if not TOKEN.match(name):
                raise ValueError(f"{name!r} is not a valid header name")
            if name.lower() in RESERVED_HEADERS:
                raise ValueError(f"{name} is set by Checkstack")
            if any(ch in header_value for ch in "\r\n\x00"):
                raise ValueError(f"the value of {name} must be a single line")
        return value


def execute(config: WebhookConfig, consumed: dict, context: ActionContext) -> ActionOutcome:
    try:
        payload = json.dumps(config.body, allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        return ActionOutcome.fail(f"body is not JSON: {exc}")
    headers = dict(config.headers)
    if not any(name.lower() == "content-type" for name in headers):  # a JSON variant may be configured
        headers["Content-Type"] = "application/json"
    headers["Idempotency-Key"] = context.idempotency_key
    deadline = context.call_deadline(config.timeout_seconds)
    allowed = seconds_left(deadline)
    try:
        status = _send(config, payload, headers, deadline)
    except TargetRefused as exc:
        return ActionOutcome.fail(str(exc))
    except _DeadlinePassed:
        return ActionOutcome.fail(f"deadline exceeded: no complete response within {allowed:.1f} s; "
                                  "the connection was cut off")
    except (OSError, ValueError, HTTPException) as exc:  # network, TLS, protocol errors
        return ActionOutcome.fail(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    result = {"status_code": status}
    if not 200 <= status < 300:
        return ActionOutcome.fail(f"HTTP {status}", result=result)
    return ActionOutcome.ok(result=result)


class _DeadlinePassed(Exception):
    """The request did not complete before its deadline."""


def _send(config: WebhookConfig, payload: bytes, headers: dict, deadline: float) -> int:
    """Send the request and read the response, all of it within `deadline`; returns the status code."""
    target = resolve_target(config.url)  # DNS is bounded by the resolver's own timeout, not this deadline
    if seconds_left(deadline) <= 0:
        raise _DeadlinePassed
    # The socket timeout only bounds each connect, write and read; the watchdog bounds their sum.
    connection = open_connection(target, timeout=seconds_left(deadline))
    try:
        with cut_off_at(deadline, lambda: connection.sock) as cutoff:
            try:
                connection.request(config.method, target.path, body=payload, headers=headers)
                response = connection.getresponse()
                response.read(MAX_RESPONSE_READ)
            except (OSError, HTTPException):
                if cutoff.passed:
                    raise _DeadlinePassed from None
                raise
            if cutoff.cut:  # the read ended early because the watchdog shut the socket
                raise _DeadlinePassed
            return response.status
    finally:
        connection.close()


def register() -> None:
    register_action(ActionDefinition(
        id="automation.webhook",
        description="Send a JSON request (POST or PUT) to a public HTTP endpoint, with an Idempotency-Key.",
        config_schema=WebhookConfig,
        execute=execute,
        external=True,
        permissions=("automation.send_webhook",),
        secret_fields=("url", "headers", "body"),
    ))
