"""Built-in triggers: manual runs and schedules (cron, interval)."""

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..definitions import TriggerDefinition, register_trigger


class ManualPayload(BaseModel):
    model_config = ConfigDict(extra="allow")


class CronConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cron: str = Field(description="A 5-field cron expression, e.g. '*/5 * * * *'.")
    timezone: str = Field(default="UTC", description="IANA time zone the expression is read in.")

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        from croniter import CroniterBadDateError, croniter

        if len(value.split()) != 5 or not croniter.is_valid(value):
            raise ValueError("must be a valid 5-field cron expression")
        # Valid fields can still name no date at all (30 February): the schedule sweep would then have
        # no tick to compute, ever. Both directions, as the sweep looks back for the latest tick.
        try:
            croniter(value, datetime.now(UTC)).get_next(datetime)
            croniter(value, datetime.now(UTC)).get_prev(datetime)
        except CroniterBadDateError:
            raise ValueError("never fires: no date matches it") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class IntervalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seconds: int = Field(ge=1, le=365 * 24 * 3600, description="Fire every this many seconds (1 second to 1 year).")


class SchedulePayload(BaseModel):
    scheduled_for: str = Field(description="The tick this firing is for (ISO 8601 UTC).")


def register() -> None:
    register_trigger(TriggerDefinition(
        id="automation.manual",
        description="Run now, from the API or the admin, with a payload of your choice.",
        payload_schema=ManualPayload,
    ))
    register_trigger(TriggerDefinition(
        id="automation.cron",
        description="Fire on a cron schedule (config.cron, config.timezone).",
        payload_schema=SchedulePayload,
        config_schema=CronConfig,
    ))
    register_trigger(TriggerDefinition(
        id="automation.interval",
        description="Fire every config.seconds seconds.",
        payload_schema=SchedulePayload,
        config_schema=IntervalConfig,
    ))
