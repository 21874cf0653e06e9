"""A timer whose handler fails stays due and is retried with backoff, then its run fails with the reason."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from automation.engine.runs.runner import run_advance
from automation.engine.waiting import handlers as timer_handlers
from automation.engine.waiting.timers import MAX_ATTEMPTS, timers_fire_due
from automation.models import Run, RunStatus, RunStep, Timer
from automation.services.runs import run_manual
from automation.tests.engine_support import make_automation

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

# A statement the database refuses (SQLite divides by zero quietly); on PostgreSQL it aborts the transaction.
FAILING_SQL = {"postgresql": ("SELECT 1 / 0", "DataError: division by zero"),
               "sqlite": ("SELECT * FROM no_such_table", "OperationalError: no such table: no_such_table")}
SQL, BROKEN = FAILING_SQL[connection.vendor]


def delayed_run():
    automation = make_automation({"name": f"delayed-{uuid.uuid4().hex[:8]}",
                                  "triggers": [{"event": "automation.manual"}],
                                  "actions": [{"delay": {"seconds": 60}},
                                              {"action": "test.note", "config": {"text": "after"}}]})
    run = run_manual(automation=automation, actor="user:test", payload={})
    run_advance(run_id=run.pk)
    return Run.objects.get(pk=run.pk), Timer.objects.get(owner=str(run.waits.get().pk))


@pytest.fixture
def breaking(monkeypatch):
    """Make the delay handler fail, the way a broken query does, for the timers of the owners listed."""
    owners = {}  # owner -> failures left (None: always)
    real = timer_handlers.HANDLERS[Timer.Kind.RESUME]

    def handler(timer):
        left = owners.get(timer.owner, 0)
        if left is None or left > 0:
            owners[timer.owner] = None if left is None else left - 1
            with connection.cursor() as cursor:
                cursor.execute(SQL)
        real(timer)

    monkeypatch.setitem(timer_handlers.HANDLERS, Timer.Kind.RESUME, handler)
    return owners


def test_a_failing_handler_keeps_its_timer_due_and_a_retry_resumes_the_run(journal, breaking):
    run, timer = delayed_run()
    breaking[timer.owner] = 2
    now = timezone.now() + timedelta(seconds=61)

    assert timers_fire_due(now=now) == 1
    timer.refresh_from_db()
    assert (timer.fired_at, timer.attempts, timer.due_at) == (None, 1, now + timedelta(seconds=5))
    assert timer.last_error == BROKEN
    assert timers_fire_due(now=now + timedelta(seconds=4)) == 0  # backing off

    timers_fire_due(now=now + timedelta(seconds=5))
    timer.refresh_from_db()
    assert (timer.fired_at, timer.attempts, timer.due_at) == (None, 2, now + timedelta(seconds=15))

    timers_fire_due(now=now + timedelta(seconds=15))
    timer.refresh_from_db()
    assert timer.fired_at is not None and timer.attempts == 2
    run_advance(run_id=run.pk, resume=True)
    assert Run.objects.get(pk=run.pk).status == RunStatus.SUCCEEDED
    assert journal.texts() == ["after"]


def test_one_failing_timer_does_not_stop_the_others_in_its_batch(journal, breaking):
    (first, first_timer), (second, second_timer) = delayed_run(), delayed_run()
    breaking[first_timer.owner] = None

    assert timers_fire_due(now=timezone.now() + timedelta(seconds=61)) == 2

    first_timer.refresh_from_db()
    second_timer.refresh_from_db()
    assert (first_timer.fired_at, first_timer.attempts) == (None, 1)
    assert (second_timer.fired_at is not None, second_timer.attempts, second_timer.last_error) == (True, 0, "")
    run_advance(run_id=second.pk, resume=True)
    assert Run.objects.get(pk=second.pk).status == RunStatus.SUCCEEDED
    assert Run.objects.get(pk=first.pk).status == RunStatus.WAITING


def test_a_timer_failing_every_attempt_fails_its_run_with_the_reason(journal, breaking):
    run, timer = delayed_run()
    breaking[timer.owner] = None
    now = timezone.now() + timedelta(seconds=61)

    for _ in range(MAX_ATTEMPTS):
        now = Timer.objects.get(pk=timer.pk).due_at
        assert timers_fire_due(now=now) == 1
    assert timers_fire_due(now=now + timedelta(days=1)) == 0  # given up: never due again

    timer.refresh_from_db()
    assert timer.fired_at is not None and timer.attempts == MAX_ATTEMPTS
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.error == f"timer resume failed {MAX_ATTEMPTS} times, giving up; last error: {BROKEN}"
    step = RunStep.objects.get(run=run, path="actions.0")
    assert (step.status, step.error) == ("failed", run.error)
    assert run_advance(run_id=run.pk, resume=True) is None  # nothing resumes it
    assert journal.texts() == []
