"""Beat's schedule: windows start and complete as time passes, each move written once."""

import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from maintenance import tasks
from maintenance.models import MaintenanceWindow
from maintenance.selectors import due_window_ids, maintenance_current, maintenance_upcoming, systems_in_maintenance
from maintenance.services import ScheduleAdvance, _advance_window, maintenance_advance_schedule

from .factories import T0, events, log_counts, make_system, make_window, transitions

pytestmark = pytest.mark.django_db
END = T0 + timedelta(hours=2)


def status_of(window):
    return MaintenanceWindow.objects.get(pk=window.pk).status


def test_nothing_moves_before_the_start():
    window = make_window()
    before = log_counts()

    result = maintenance_advance_schedule(now=T0 - timedelta(seconds=1))

    assert result == ScheduleAdvance(started=[], completed=[])
    assert (status_of(window), log_counts()) == ("scheduled", before)


def test_start_then_end_each_written_once_as_system():
    window = make_window()

    assert maintenance_advance_schedule(now=T0) == ScheduleAdvance(started=[str(window.pk)], completed=[])
    after_start = log_counts()
    assert maintenance_advance_schedule(now=T0 + timedelta(minutes=1)) == ScheduleAdvance(started=[], completed=[])
    assert log_counts() == after_start

    assert maintenance_advance_schedule(now=END) == ScheduleAdvance(started=[], completed=[str(window.pk)])
    after_end = log_counts()
    assert maintenance_advance_schedule(now=END) == ScheduleAdvance(started=[], completed=[])
    assert log_counts() == after_end

    assert transitions(window.pk)[-2:] == [
        ("status", "scheduled", "in_progress", "system"),
        ("status", "in_progress", "completed", "system"),
    ]
    assert [e.changed_fields for e in events(window.pk)] == [
        ["end_at", "start_at", "status", "system_ids"],
        ["status"],
        ["status"],
    ]


def test_a_window_missed_entirely_goes_straight_to_completed():
    window = make_window()

    result = maintenance_advance_schedule(now=END + timedelta(hours=1))

    assert result == ScheduleAdvance(started=[], completed=[str(window.pk)])
    assert transitions(window.pk)[-1] == ("status", "scheduled", "completed", "system")
    assert len(events(window.pk)) == 2


def test_completed_and_cancelled_windows_are_left_alone():
    make_window(status="completed")
    make_window(status="cancelled")
    before = log_counts()

    assert maintenance_advance_schedule(now=END + timedelta(days=1)) == ScheduleAdvance(started=[], completed=[])
    assert log_counts() == before


def test_a_stale_candidate_is_rechecked_under_the_lock():
    # Given two beat processes that both listed the window as due before either moved it,
    window = make_window()
    assert due_window_ids(now=T0) == [window.pk]
    assert _advance_window(window_id=window.pk, now=T0) == "in_progress"
    before = log_counts()

    # when the second one reaches the window, it finds it already moved and writes nothing.
    assert _advance_window(window_id=window.pk, now=T0) is None
    assert log_counts() == before


def test_the_task_advances_as_of_the_real_clock():
    now = timezone.now()
    window = make_window(start_at=now - timedelta(minutes=1), end_at=now + timedelta(hours=1))

    tasks.maintenance_advance_schedule()

    assert status_of(window) == "in_progress"
    beat_entry = settings.CELERY_BEAT_SCHEDULE["maintenance-advance-schedule"]
    assert beat_entry["task"] == tasks.maintenance_advance_schedule.name
    assert tasks.maintenance_advance_schedule.name == "checkstack.maintenance_advance_schedule"


def test_current_upcoming_and_systems_in_maintenance():
    api, db, web = make_system("api"), make_system("db"), make_system("web")
    running = make_window(systems=[api], status="in_progress", start_at=T0 - timedelta(hours=1))
    due = make_window(systems=[db])  # scheduled, started at T0, beat not there yet
    later = make_window(systems=[web], start_at=T0 + timedelta(days=1))
    make_window(systems=[web], status="completed")

    assert [w.pk for w in maintenance_current()] == [running.pk]
    assert [w.pk for w in maintenance_upcoming()] == [due.pk, later.pk]
    assert systems_in_maintenance(now=T0 + timedelta(minutes=1)) == {str(api.pk), str(db.pk)}
    assert systems_in_maintenance(now=T0 - timedelta(minutes=1)) == {str(api.pk)}


@pytest.mark.integration  # the PostgreSQL pass only: SQLite has no row locks to race on
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_beats_move_each_window_once():
    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL row locks: run it in the PostgreSQL pass of the test command")
    windows = [make_window(title=f"w{i}") for i in range(5)]
    barrier = threading.Barrier(2)
    results = []

    def beat():
        try:
            barrier.wait()
            results.append(maintenance_advance_schedule(now=T0))
        finally:
            connection.close()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    started = sorted(window_id for result in results for window_id in result.started)
    assert started == sorted(str(w.pk) for w in windows)
    for window in windows:
        assert transitions(window.pk)[-1] == ("status", "scheduled", "in_progress", "system")
        assert len(events(window.pk)) == 2
