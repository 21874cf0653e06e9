"""Each schedule tick is decided once, over months of simulated time with the default retention purging runs."""

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings

from automation.engine.firing.schedules import schedules_fire
from automation.engine.runs.recovery import recover_stalled_runs
from automation.engine.waiting.timers import timers_fire_due
from automation.models import AutomationTrigger, Run
from automation.retention import purge_expired
from automation.services.automations import automation_update
from automation.tests.engine_support import clock, drain_runs, make_automation

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

NOTE_TICK = [{"action": "test.note", "config": {"text": "{{ trigger.payload.scheduled_for }}"}}]
BEAT = timedelta(hours=6)  # finer than the day-long gap in which a purged monthly run used to refire


def schedule(name: str, event: str, config: dict, **trigger) -> dict:
    return {"name": name, "triggers": [{"event": event, "config": config, **trigger}], "actions": NOTE_TICK}


def live_through(start: datetime, end: datetime, *documents: dict) -> list:
    """Create the automations at `start`, then beat and work every BEAT, sweep and purge every midnight."""
    with clock(start) as advance:
        automations = [make_automation(document) for document in documents]
        now = start
        while now < end:
            advance(BEAT)
            now += BEAT
            schedules_fire(now=now)
            drain_runs()
            if (now.hour, now.minute) == (0, 0):
                timers_fire_due(now=now)
                recover_stalled_runs()
                purge_expired(now=now)
    return automations


def test_a_monthly_cron_fires_once_a_month_for_thirteen_months_of_purges(journal):
    # Given the default retention of ended runs (the purge deletes a run 30 days after it ended)
    assert settings.CHECKSTACK_RETAIN_RUNS_DAYS == 30
    start = datetime(2026, 1, 1, 12, tzinfo=UTC)  # just after January's tick

    # When a monthly cron lives through 13 months (seven of them 31 days long)
    live_through(start, start + timedelta(days=395), schedule("monthly", "automation.cron", {"cron": "0 9 1 * *"}))

    # Then it fired exactly once per month, at each month's tick, though every run was purged in between
    months = [(2026, m) for m in range(2, 13)] + [(2027, 1)]
    assert journal.texts() == [f"{y}-{m:02d}-01T09:00:00Z" for y, m in months]
    assert len(journal.texts()) == 12
    assert Run.objects.count() == 1  # the older ones are purged: the trigger row, not the runs, remembers
    assert AutomationTrigger.objects.get().last_tick == datetime(2027, 1, 1, 9, tzinfo=UTC)


def test_a_ninety_day_interval_fires_once_per_ninety_days_across_purges(journal):
    seconds = 90 * 24 * 3600
    start = datetime(2026, 1, 1, tzinfo=UTC)

    live_through(start, start + timedelta(days=400),
                 schedule("quarterly", "automation.interval", {"seconds": seconds}))

    # The ticks are the multiples of 90 days since the epoch: 4 of them fall in these 400 days
    first = (int(start.timestamp()) // seconds + 1) * seconds
    ticks = [datetime.fromtimestamp(first + n * seconds, tz=UTC) for n in range(4)]
    assert ticks[-1] < start + timedelta(days=400) < ticks[-1] + timedelta(days=90)
    assert journal.texts() == [tick.isoformat().replace("+00:00", "Z") for tick in ticks]
    assert journal.texts()[0] == "2026-03-08T00:00:00Z"


def test_a_tick_the_filter_missed_never_fires_later(journal):
    # Given a daily 09:00 cron whose filter holds only from 17:00 on (the beat judges it at 09:00: a miss)
    document = schedule("evenings", "automation.cron", {"cron": "0 9 * * *"}, filter="now.hour >= 17")
    start = datetime(2026, 3, 1, 6, tzinfo=UTC)

    # When the beat runs through the day, past 17:00, while the 09:00 tick is still the latest
    live_through(start, start + timedelta(days=3), document)

    # Then no tick fired: each was decided (filtered out) at 09:00, and the evening did not revisit it
    assert journal.texts() == []
    assert not Run.objects.exists()
    assert AutomationTrigger.objects.get().last_tick == datetime(2026, 3, 3, 9, tzinfo=UTC)


def test_an_edit_keeps_the_decided_tick(journal):
    # Given an hourly schedule that fired its 10:00 tick
    start = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    with clock(start) as advance:
        automation = make_automation(schedule("hourly", "automation.interval", {"seconds": 3600}))
        advance(timedelta(minutes=30))
        assert schedules_fire() == 1

        # When it is edited within the second of that tick (so the tick is not older than the edit)
        edited = {**automation.document, "description": "edited"}
        automation_update(automation=automation, document=edited, actor="user:test")
        drain_runs()
        purge_expired(now=start + timedelta(days=60))  # and its run is purged
        assert not Run.objects.exists()

        # Then the rebuilt index row still holds the tick as decided: the beat does not fire it again
        assert AutomationTrigger.objects.get().last_tick == datetime(2026, 3, 1, 10, tzinfo=UTC)
        assert schedules_fire() == 0
        advance(timedelta(hours=1))
        assert schedules_fire() == 1


def test_the_upgrade_seeds_each_schedules_last_tick_from_its_newest_run(journal):
    # Given schedules as the upgrade finds them: runs recorded, no last tick kept yet
    from importlib import import_module

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    start = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    with clock(start) as advance:
        fired = make_automation(schedule("hourly", "automation.interval", {"seconds": 3600}))
        never = make_automation(schedule("never yet", "automation.cron", {"cron": "0 0 1 1 *"}))
        for _ in range(2):
            advance(timedelta(hours=1))
            schedules_fire()
    AutomationTrigger.objects.update(last_tick=None)

    # When the migration's seed runs, on the models as the migration sees them
    apps = MigrationExecutor(connection).loader.project_state(("automation", "0012_trigger_last_tick")).apps
    import_module("automation.migrations.0012_trigger_last_tick").seed_last_tick(apps, None)

    # Then the schedule that fired keeps its newest tick, the other none: the next beat judges no tick again
    assert AutomationTrigger.objects.get(automation=fired).last_tick == datetime(2026, 3, 1, 11, tzinfo=UTC)
    assert AutomationTrigger.objects.get(automation=never).last_tick is None
