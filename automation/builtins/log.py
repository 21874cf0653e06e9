"""`automation.log`: write a line to the Checkstack log (and the step's result)."""

import logging
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..definitions import ActionDefinition, ActionOutcome, register_action

logger = logging.getLogger("checkstack.automation")

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


class LogConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1, max_length=10000)
    level: Literal["debug", "info", "warning", "error"] = "info"


def execute(config: LogConfig, consumed, context) -> ActionOutcome:
    logger.log(LEVELS[config.level], config.message, extra={"run_id": context.run_id, "step": context.step_path})
    return ActionOutcome.ok(result={"message": config.message, "level": config.level})


def register() -> None:
    register_action(ActionDefinition(
        id="automation.log",
        description="Write a message to the Checkstack log.",
        config_schema=LogConfig,
        execute=execute,
    ))
