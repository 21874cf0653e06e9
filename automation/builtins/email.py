"""`automation.email`: send a plain-text email through Django's email backend (`EMAIL_URL`)."""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..definitions import ActionContext, ActionDefinition, ActionOutcome, register_action


class EmailConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: list[str] = Field(min_length=1, max_length=100, description="Recipient addresses.")
    subject: str = Field(min_length=1, max_length=998)
    body: str = ""

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            try:
                validate_email(address)
            except ValidationError:
                raise ValueError(f"{address!r} is not a valid email address") from None
        return value

    @field_validator("subject")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\n" in value or "\r" in value:
            raise ValueError("must be a single line")
        return value


def message_id(idempotency_key: str) -> str:
    """The same Message-ID on every retry of a step, so mail systems can drop a duplicate."""
    return f"<{uuid.uuid5(uuid.NAMESPACE_URL, 'checkstack:' + idempotency_key)}@checkstack.automation>"


def execute(config: EmailConfig, consumed: dict, context: ActionContext) -> ActionOutcome:
    message = EmailMessage(
        subject=config.subject,
        body=config.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=config.to,
        headers={"Message-ID": message_id(context.idempotency_key),
                 "Idempotency-Key": context.idempotency_key},
    )
    try:
        sent = message.send(fail_silently=False)
    except (OSError, ValueError) as exc:  # smtplib's errors are OSErrors; bad headers are ValueErrors
        return ActionOutcome.fail(f"{type(exc).__name__}: {exc}")
    return ActionOutcome.ok(result={"sent": sent, "recipients": len(config.to)})


def register() -> None:
    register_action(ActionDefinition(
        id="automation.email",
        description="Send a plain-text email to the given addresses.",
        config_schema=EmailConfig,
        execute=execute,
        external=True,
        # No secret fields: the server's credentials come from EMAIL_URL, and whatever the config holds is
        # sent to recipients the author chooses.
        permissions=("automation.send_email",),
    ))
