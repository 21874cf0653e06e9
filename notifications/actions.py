"""The `notify.send` action: a message from an automation through a channel, by the channel's name or id.

The step's config names the channel only; its credentials are read from the channel inside `execute` and
never enter the run's scope, its step rows or its logs (they are masked the moment they are decrypted).
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from automation.definitions import ActionContext, ActionDefinition, ActionOutcome, register_action

from .channels.events import direct_message
from .channels.services import channel_find, channel_send_now
from .conf import channel_timeout


class NotifySendConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: str = Field(min_length=1, max_length=100, description="The channel's name or id.")
    title: str = Field(min_length=1, max_length=200)
    message: str = Field(default="", max_length=4000)
    severity: Literal["critical", "error", "warning", "info"] | None = Field(
        default=None, description="For pagers (PagerDuty, Opsgenie, ntfy priority); default info.")


def execute(config: NotifySendConfig, consumed: dict, context: ActionContext) -> ActionOutcome:
    channel = channel_find(config.channel)
    if channel is None:
        return ActionOutcome.fail(f"no channel named {config.channel!r}")
    if not channel.enabled:
        return ActionOutcome.fail(f"channel {channel.name!r} is disabled")
    # Stable across retries of this step: the service sees a retried step as the same message.
    message_id = f"msg_run_{context.idempotency_key}"[:200]
    message = direct_message(event="automation", title=config.title, text=config.message,
                             severity=config.severity or "info", key=f"run:{context.run_id}:{context.step_path}")
    result = channel_send_now(channel=channel, message=message, message_id=message_id,
                              deadline=context.call_deadline(channel_timeout()))
    summary = {"channel": channel.name, "status_code": result.status_code}
    if not result.ok:
        return ActionOutcome.fail(result.error or "not delivered", result=summary)
    return ActionOutcome.ok(result=summary)


def register() -> None:
    register_action(ActionDefinition(
        id="notify.send",
        description="Send a message (title, message, severity) through a notification channel.",
        config_schema=NotifySendConfig,
        execute=execute,
        external=True,
        permissions=("notifications.use_channel",),
    ))
