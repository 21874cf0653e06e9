"""Schedules: `automation.cron` and `automation.interval` fire only their own automation, once per tick.

The beat task looks at the trigger index each time, so new and edited schedules apply without a
restart. Each tick is decided once: the trigger's index row keeps the last decided tick (`last_tick`),
written in the transaction that fires, filters out, holds or skips it. Runs are not the record, since
retention deletes ended runs: a monthly tick judged again after its run was purged would fire twice, and a
tick whose filter missed would be judged again every beat until a later moment let it through.
"""

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ...entities.actor import SYSTEM_ACTOR
from ...entities.values import iso_utc
from ...models import AutomationTrigger
from .firings import Firing
from .routing import fire, with_locked_automation

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
    """Decide every schedule trigger's latest tick not decided yet (only ticks after its last edit).

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
        except Exception:  # isolated per schedule; the next tick tries it again
            logger.exception("schedule %s of automation %s failed", row.trigger_id, row.automation_id)
    return fired


def _fire_tick(row: AutomationTrigger, now: datetime) -> bool:
    """Decide this schedule's latest tick unless it was decided already; whether a run (or skip) was recorded."""
    automation = row.automation
    trigger = next((t for t in automation.document["triggers"] if t["id"] == row.trigger_id), None)
    if trigger is None:
        return False
    tick = latest_tick(trigger, now)
    if tick is None or tick < automation.updated_at - timedelta(seconds=1):
        return False
    if row.last_tick is not None and tick <= row.last_tick:
        return False  # decided already (fired, filtered out, held or skipped), by this process or another
    firing = Firing(automation=automation, trigger=trigger, event=trigger["event"],
                    payload={"scheduled_for": iso_utc(tick)}, context_key=None,
                    firing_key=f"tick:{iso_utc(tick)}", actor=SYSTEM_ACTOR, occurred_at=tick)
    with transaction.atomic():  # the decision and what it recorded commit together; a failure undoes both
        locked = with_locked_automation(firing)
        if locked is None or not _claim_tick(row, tick):
            return False
        run = fire(locked)
    return run is not None


def _claim_tick(row: AutomationTrigger, tick: datetime) -> bool:
    """Mark the tick decided; False if another process did first or an edit replaced the row meanwhile.

    Called holding the automation's lock: an edit's re-index takes that lock before the index rows, so taking
    the index row first here could deadlock with it. The conditional UPDATE makes two beats decide a tick once.
    """
    newer = Q(last_tick__isnull=True) | Q(last_tick__lt=tick)
    return AutomationTrigger.objects.filter(newer, pk=row.pk).update(last_tick=tick) == 1
