"""Schedules: `automation.cron` and `automation.interval` fire only their own automation, once per tick.

The beat task looks at the trigger index each time, so new and edited schedules apply without a
restart; the unique (automation, firing, trigger) constraint makes a tick fire once however many beat
or worker processes run this at the same moment.
"""

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter
from django.db import transaction
from django.utils import timezone

from ...entities.actor import SYSTEM_ACTOR
from ...entities.values import iso_utc
from ...models import AutomationTrigger, Run
from .firings import Firing
from .routing import fire

logger = logging.getLogger(__name__)

SCHEDULE_EVENTS = ("automation.cron", "automation.interval")


def latest_tick(trigger: dict, now: datetime) -> datetime | None:
    """The most recent tick at or before `now` of a schedule trigger."""
    config = trigger.get("config") or {}
    if trigger["event"] == "automation.interval":
        seconds = int(config["seconds"])
        epoch = int(now.timestamp())
        return datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)
    zone = ZoneInfo(config.get("timezone", "UTC"))
    return croniter(config["cron"], now.astimezone(zone)).get_prev(datetime).astimezone(UTC)


def schedules_fire(*, now: datetime | None = None) -> int:
    """Fire every schedule trigger whose latest tick has not fired yet (only ticks after its last edit).

    One schedule that fails (say, a cron that can never fire, saved before validation refused it) is
    logged and skipped: it must not stop the schedules after it, on this tick or any other.
    """
    now = now or timezone.now()
    fired = 0
    # In index order, so a failing schedule is met at the same place each tick (its log lines line up).
    rows = (AutomationTrigger.objects.filter(event__in=SCHEDULE_EVENTS, enabled=True)
            .select_related("automation").order_by("pk"))
    for row in rows:
        try:
            fired += _fire_tick(row, now)
        except Exception:  # noqa: BLE001 - isolated per schedule; the next tick tries it again
            logger.exception("schedule %s of automation %s failed", row.trigger_id, row.automation_id)
    return fired


def _fire_tick(row: AutomationTrigger, now: datetime) -> bool:
    """Fire this schedule's latest tick unless it fired already; whether a run (or skip) was recorded."""
    automation = row.automation
    trigger = next((t for t in automation.document["triggers"] if t["id"] == row.trigger_id), None)
    if trigger is None:
        return False
    tick = latest_tick(trigger, now)
    if tick is None or tick < automation.updated_at - timedelta(seconds=1):
        return False
    firing_key = f"tick:{iso_utc(tick)}"
    if Run.objects.filter(automation=automation, firing_key=firing_key, trigger_id=trigger["id"]).exists():
        return False  # this tick fired already (here or in another process)
    payload = {"scheduled_for": iso_utc(tick)}
    with transaction.atomic():  # a failure rolls back this schedule's firing only
        run = fire(Firing(automation=automation, trigger=trigger, event=trigger["event"], payload=payload,
                          context_key=None, firing_key=firing_key, actor=SYSTEM_ACTOR, occurred_at=tick))
    return run is not None
