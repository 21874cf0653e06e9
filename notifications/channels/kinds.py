"""Each channel kind's config: its fields, which of them are secret, and their validation (pure).

Every kind's config names the endpoint it posts to (`url`). Where the service has a public endpoint it is
the default, and a regional or self-hosted one may replace it (PagerDuty EU, a local Telegram Bot API
server, ntfy); where the URL itself is the credential (chat incoming webhooks, a signed webhook) it is
required and secret.
"""

import base64
import binascii
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .models import ChannelKind

WEBHOOK_SECRET_PREFIX = "whsec_"


def check_http_url(value: str) -> str:
    """An http(s) URL with a host, no credentials in it and no whitespace (the egress guard checks the host)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise ValueError("must not carry a user name or password")
    if any(ch in value for ch in "\r\n\t "):
        raise ValueError("must not contain whitespace")
    return value


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    _check_url = field_validator("url", check_fields=False)(classmethod(lambda cls, v: check_http_url(v)))


class IncomingWebhookConfig(_Config):
    url: str = Field(min_length=1, max_length=2048, description="The incoming webhook URL (secret).")


class MattermostConfig(IncomingWebhookConfig):
    channel: str | None = Field(default=None, max_length=100, description="Overrides the webhook's channel.")
    username: str | None = Field(default=None, max_length=100)


class TelegramConfig(_Config):
    url: str = Field(default="https://api.telegram.org", max_length=2048,
                     description="Bot API server (a local telegram-bot-api server, or the public one).")
    bot_token: str = Field(min_length=1, max_length=200, pattern=r"^[0-9]+:[A-Za-z0-9_-]+$")
    chat_id: str = Field(min_length=1, max_length=100, description="Chat id or @channelusername.")

    @field_validator("chat_id", mode="before")
    @classmethod
    def _chat_id_text(cls, value):
        return str(value) if isinstance(value, int) else value


class PagerDutyConfig(_Config):
    url: str = Field(default="https://events.pagerduty.com/v2/enqueue", max_length=2048,
                     description="Events API v2 endpoint (EU: https://events.eu.pagerduty.com/v2/enqueue).")
    routing_key: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9]+$")


class OpsgenieConfig(_Config):
    url: str = Field(default="https://api.opsgenie.com", max_length=2048,
                     description="Alert API base (EU: https://api.eu.opsgenie.com).")
    api_key: str = Field(min_length=1, max_length=200)


class NtfyConfig(_Config):
    url: str = Field(default="https://ntfy.sh", max_length=2048, description="ntfy server (self-hosted or ntfy.sh).")
    # On a shared server the topic name is the password of its subscribers: secret.
    topic: str = Field(min_length=1, max_length=64, pattern=r"^[-_A-Za-z0-9]+$")
    token: str | None = Field(default=None, max_length=200, description="Access token (sent as Bearer).")


class WebhookConfig(_Config):
    url: str = Field(min_length=1, max_length=2048)
    secret: str = Field(min_length=1, max_length=200,
                        description="Signing secret (whsec_ + base64); generated and shown once when left out.")

    @field_validator("secret")
    @classmethod
    def _whsec(cls, value: str) -> str:
        if not value.startswith(WEBHOOK_SECRET_PREFIX):
            raise ValueError("must start with whsec_")
        try:
            key = base64.b64decode(value[len(WEBHOOK_SECRET_PREFIX):], validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("must be whsec_ followed by base64") from None
        if not 24 <= len(key) <= 64:
            raise ValueError("the key must be 24 to 64 bytes")
        return value


class EmailConfig(_Config):
    addresses: list[str] = Field(min_length=1, max_length=50)

    @field_validator("addresses")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for address in value:
            try:
                validate_email(address)
            except DjangoValidationError:
                raise ValueError(f"{address!r} is not an email address") from None
        return [address.strip().lower() for address in value]


SCHEMAS: dict[str, type[_Config]] = {
    ChannelKind.SLACK: IncomingWebhookConfig,
    ChannelKind.TEAMS: IncomingWebhookConfig,
    ChannelKind.DISCORD: IncomingWebhookConfig,
    ChannelKind.MATTERMOST: MattermostConfig,
    ChannelKind.TELEGRAM: TelegramConfig,
    ChannelKind.PAGERDUTY: PagerDutyConfig,
    ChannelKind.OPSGENIE: OpsgenieConfig,
    ChannelKind.NTFY: NtfyConfig,
    ChannelKind.WEBHOOK: WebhookConfig,
    ChannelKind.EMAIL: EmailConfig,
}

# Credentials: write-only, stored encrypted, masked wherever they could surface.
SECRET_FIELDS: dict[str, frozenset[str]] = {
    ChannelKind.SLACK: frozenset({"url"}),
    ChannelKind.TEAMS: frozenset({"url"}),
    ChannelKind.DISCORD: frozenset({"url"}),
    ChannelKind.MATTERMOST: frozenset({"url"}),
    ChannelKind.TELEGRAM: frozenset({"bot_token"}),
    ChannelKind.PAGERDUTY: frozenset({"routing_key"}),
    ChannelKind.OPSGENIE: frozenset({"api_key"}),
    ChannelKind.NTFY: frozenset({"topic", "token"}),
    ChannelKind.WEBHOOK: frozenset({"url", "secret"}),
    ChannelKind.EMAIL: frozenset(),
}


class ConfigError(ValueError):
    """A channel config that does not fit its kind: `errors` maps each config field to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items()))
        self.errors = errors


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def config_validate(kind: str, config: dict) -> tuple[dict, dict]:
    """(public parts, secret parts) of a valid config of `kind`, defaults filled; raises ConfigError.

    The messages never quote a submitted value: a secret must not come back in an error.
    """
    schema = SCHEMAS.get(kind)
    if schema is None:
        raise ConfigError({"kind": [f"unknown kind {kind!r}"]})
    if not isinstance(config, dict):
        raise ConfigError({"non_field_errors": ["config must be a JSON object"]})
    # PostgreSQL's jsonb cannot hold U+0000: refused here as a field error, never a failed INSERT.
    if nul := sorted(str(key) for key, value in config.items() if _has_nul(key) or _has_nul(value)):
        raise ConfigError({key: ["must not contain NUL characters"] for key in nul})
    try:
        valid = schema.model_validate(config).model_dump(exclude_none=True)
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for error in exc.errors(include_input=False, include_url=False):
            field = ".".join(str(part) for part in error["loc"]) or "non_field_errors"
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = f"unknown field for a {kind} channel"
            errors.setdefault(field, []).append(message)
        raise ConfigError(errors) from None
    secret = SECRET_FIELDS[kind]
    return ({k: v for k, v in valid.items() if k not in secret}, {k: v for k, v in valid.items() if k in secret})
