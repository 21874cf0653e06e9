"""`automation.email`: send a plain-text email through Django's email backend (`EMAIL_URL`)."""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends import smtp
from django.core.validators import validate_email
from django.utils.module_loading import import_string
from pydantic import BaseModel, ConfigDict, Field, field_validator

from foundation.deadline import cut_off_at, seconds_left

from ..definitions import ActionContext, ActionDefinition, ActionOutcome, register_action

DEFAULT_TIMEOUT = 30  # seconds, when EMAIL_TIMEOUT is unset


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


class _WatchedSMTPBackend(smtp.EmailBackend):
    """Django's SMTP backend, handing each SMTP session to the watchdog as soon as it connects.

    smtplib connects and reads the server's greeting inside its constructor, before the backend holds
    the session: a server trickling its greeting would be out of the watchdog's reach.
    """

    def __init__(self, *, smtp_sessions: list, **kwargs):
        super().__init__(**kwargs)
        self._smtp_sessions = smtp_sessions

    @property
    def connection_class(self):
        sessions = self._smtp_sessions

        class Watched(super().connection_class):
            def _get_socket(self, host, port, timeout):
                sessions.append(self)  # its .sock (replaced by STARTTLS) is read when the deadline passes
                return super()._get_socket(host, port, timeout)

        return Watched


def _backend(*, timeout: float, smtp_sessions: list):
    if import_string(settings.EMAIL_BACKEND) is smtp.EmailBackend:
        return _WatchedSMTPBackend(timeout=timeout, smtp_sessions=smtp_sessions)
    return get_connection(timeout=timeout)  # console, locmem, file: nothing to wait on


def execute(config: EmailConfig, consumed: dict, context: ActionContext) -> ActionOutcome:
    deadline = context.call_deadline(settings.EMAIL_TIMEOUT or DEFAULT_TIMEOUT)
    # Each SMTP operation times out on its own; the watchdog bounds them all together (see deadline.py).
    smtp_sessions = []
    backend = _backend(timeout=max(0.1, seconds_left(deadline)), smtp_sessions=smtp_sessions)
    message = EmailMessage(
        subject=config.subject,
        body=config.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=config.to,
        headers={"Message-ID": message_id(context.idempotency_key),
                 "Idempotency-Key": context.idempotency_key},
        connection=backend,
    )
    allowed = seconds_left(deadline)
    try:
        with cut_off_at(deadline, lambda: smtp_sessions[-1].sock if smtp_sessions else None) as cutoff:
            try:
                sent = message.send(fail_silently=False)
            finally:
                backend.close()  # inside the block: a server trickling its reply to QUIT is cut off too
    except (OSError, ValueError) as exc:  # smtplib's errors are OSErrors; bad headers are ValueErrors
        if cutoff.passed:
            return ActionOutcome.fail(f"deadline exceeded: the mail server did not finish within {allowed:.1f} s; "
                                      "the connection was cut off")
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
