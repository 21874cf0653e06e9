"""Concurrency modes, cancel, and recovery of runs whose worker was lost."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from automation.engine.firing.routing import route_trigger_event
from automation.engine.runs.claims import locked_run, run_claim
from automation.engine.runs.leases import LeaseLost
from automation.engine.runs.recovery import recover_stalled_runs
from automation.engine.runs.runner import run_advance
from automation.models import Run, RunStatus
from automation.services.runs import run_cancel
from automation.tests.engine_support import drain_runs, make_automation

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def automation(mode, max_runs=10, scope="automation"):
    return make_automation({"name": f"m-{mode}-{scope}", "mode": mode, "max_runs": max_runs,
                            "concurrency_scope": scope,
                            "triggers": [{"event": "automation.interval", "config": {"seconds": 60}}],
                            "actions": [{"action": "test.note",
                                         "config": {"text": "{{ trigger.payload.n | string }}"}}]})


def fire(n, context="c"):
    runs = route_trigger_event(event="automation.interval", payload={"n": n}, context_key=context,
                               firing_key=f"f{n}", actor="system")
    return runs[0] if runs else None


def statuses():
    return [(r.payload["n"], r.status) for r in Run.objects.order_by("created_at")]


def test_single_skips_while_a_run_is_active(journal):
    automation("single")
    fire(1)
    skipped = fire(2)
    assert (skipped.status, skipped.error) == (RunStatus.SKIPPED, "a run is already active (mode single)")
    drain_runs()
    fire(3)
    drain_runs()
    assert statuses() == [(1, "succeeded"), (2, "skipped"), (3, "succeeded")]


def test_single_per_context_key_runs_each_context(journal):
    automation("single", scope="context_key")
    fire(1, context="a")
    fire(2, context="b")
    drain_runs()
    assert statuses() == [(1, "succeeded"), (2, "succeeded")]


def test_queued_runs_in_fifo_order_up_to_max_runs_waiting(journal):
    automation("queued", max_runs=2)
    for n in range(1, 5):
        fire(n)
    # 1 active, 2 and 3 queued, 4 over the queue's length.
    assert statuses()[-1] == (4, "skipped")
    assert run_advance(run_id=Run.objects.get(payload__n=3).pk) is None  # not its turn
    drain_runs()
    assert journal.texts() == ["1", "2", "3"]
    assert statuses() == [(1, "succeeded"), (2, "succeeded"), (3, "succeeded"), (4, "skipped")]


def test_restart_cancels_the_active_run_and_starts_the_new_one(journal):
    automation("restart")
    first = fire(1)
    second = fire(2)
    first.refresh_from_db()
    assert first.status == RunStatus.CANCELLED
    drain_runs()
    assert journal.texts() == ["2"]
    assert statuses() == [(1, "cancelled"), (2, "succeeded")]
    assert second.pk


def test_parallel_allows_up_to_max_runs(journal):
    automation("parallel", max_runs=2)
    fire(1), fire(2)
    third = fire(3)
    assert third.error == "max_runs reached (mode parallel)"
    drain_runs()
    assert sorted(journal.texts()) == ["1", "2"]


def test_cancel_is_idempotent_and_a_cancelled_run_never_runs(journal):
    automation("single")
    run = fire(1)
    run_cancel(run=run, actor="user:ann")
    run_cancel(run=run, actor="user:ann")
    assert run_advance(run_id=run.pk) is None
    run.refresh_from_db()
    assert (run.status, run.reason) == (RunStatus.CANCELLED, "cancelled by user:ann")
    assert journal.texts() == []


def test_a_cancel_fences_out_the_worker_holding_the_run(journal):
    automation("single")
    run = fire(1)
    claim = run_claim(run_id=run.pk)
    run_cancel(run=run, actor="user:ann")
    with pytest.raises(LeaseLost):
        from django.db import transaction

        with transaction.atomic():
            locked_run(claim)


def test_a_run_whose_worker_died_is_recovered_and_skips_finished_steps(journal):
    make_automation({"name": "crashy", "triggers": [{"event": "automation.interval", "config": {"seconds": 60}}],
                     "actions": [{"action": "test.note", "config": {"text": "one"}},
                                 {"action": "test.note", "config": {"text": "two"}}]})
    run = fire(1)
    # A worker claims it, finishes step one, then dies (its lease simply lapses).
    claim = run_claim(run_id=run.pk)
    from automation.engine.runs.walker import Walker

    walker = Walker(Run.objects.get(pk=run.pk), claim)
    walker.walk_step(run.document["actions"][0], "actions.0", "")
    Run.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))

    assert recover_stalled_runs() == 1
    assert recover_stalled_runs() == 0  # held back: its wake-up was just re-sent
    # That wake-up reaches a worker, which dies too: a new stall, re-sent without waiting.
    assert run_claim(run_id=run.pk) is not None
    Run.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert recover_stalled_runs() == 1
    assert run_advance(run_id=run.pk) == RunStatus.SUCCEEDED
    assert journal.texts() == ["one", "two"]  # step one ran once
    run.refresh_from_db()
    assert run.attempts == 3
    # The dead worker's late write is refused.
    with pytest.raises(LeaseLost):
        walker.complete(walker.memo[("actions.0", "")], {})


def test_a_run_that_keeps_losing_its_worker_fails_after_bounded_attempts(journal, settings):
    settings.CHECKSTACK_RUN_MAX_ATTEMPTS = 2
    automation("single")
    run = fire(1)
    for _ in range(2):
        assert run_claim(run_id=run.pk) is not None
        Run.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert run_claim(run_id=run.pk) is None
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "gave up after 2 attempts" in run.error


@pytest.mark.integration  # the PostgreSQL pass only: it races two transactions on row locks
def test_deleting_an_automation_waits_for_a_step_write_in_progress_instead_of_deadlocking(journal):
    """A worker holds its run's row and then writes its step; the delete must not take the step row first."""
    import threading

    from django.db import connection, transaction

    from automation.engine.runs.walker import Walker
    from automation.models import Automation, RunStep
    from automation.services.automations import automation_delete
    from testing.lock_waits import backend_pid, wait_until_waiting_on_lock

    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL: run it in the PostgreSQL pass of the test command")
    # Two steps: the run is still running after the first (its last would end it).
    doomed = make_automation({"name": "doomed", "triggers": [{"event": "automation.interval",
                                                              "config": {"seconds": 60}}],
                              "actions": [{"action": "test.note", "config": {"text": "one"}},
                                          {"action": "test.note", "config": {"text": "two"}}]})
    run = fire(1)
    claim = run_claim(run_id=run.pk)
    Walker(Run.objects.get(pk=run.pk), claim).walk_step(run.document["actions"][0], "actions.0", "")
    step = RunStep.objects.get(run=run)
    holding, deleting, errors = threading.Event(), threading.Event(), []
    deleter_pid = []

    def worker():
        try:
            with transaction.atomic():
                locked_run(claim)  # the walker's first statement of every step write
                holding.set()
                if not deleting.wait(5):
                    raise AssertionError("the delete did not start")
                # The delete is past its first locks and queues for the run row this transaction holds.
                wait_until_waiting_on_lock(deleter_pid[0])
                RunStep.objects.filter(pk=step.pk).update(attempts=2)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    def deleter():
        try:
            deleter_pid.append(backend_pid())
            deleting.set()
            automation_delete(automation=doomed, actor="user:ann")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker)]
    threads[0].start()
    assert holding.wait(5)
    threads.append(threading.Thread(target=deleter))
    threads[1].start()
    for thread in threads:
        thread.join(20)
    assert errors == []
    assert not Automation.objects.filter(pk=doomed.pk).exists()
    assert not Run.objects.filter(pk=run.pk).exists()


def claimed_on_creation(n, context="c"):
    """Fire as the routing task does: the first startable run is created claimed by this worker."""
    from automation.engine.runs.wakeups import runs_woken_here

    with runs_woken_here(claim_first=True) as woken:
        run = fire(n, context)
    return run, woken


def test_a_run_created_claimed_belongs_to_this_worker_only(journal):
    from automation.engine.runs.leases import WORKER_ID

    automation("parallel")
    run, [wake_up] = claimed_on_creation(1)
    run.refresh_from_db()
    assert (run.status, run.lease_owner, run.fencing_token, run.attempts) == (RunStatus.RUNNING, WORKER_ID, 1, 1)
    assert run.lease_expires_at > timezone.now() + timedelta(seconds=30)
    assert wake_up.claim.token == 1 and wake_up.claim.first_start
    assert run_claim(run_id=run.pk) is None  # nobody else may take it while the lease runs
    assert run_advance(run_id=run.pk, claim=wake_up.claim) == RunStatus.SUCCEEDED
    assert journal.texts() == ["1"]


def test_only_the_first_startable_run_is_created_claimed(journal):
    from automation.engine.runs.wakeups import runs_woken_here

    automation("parallel")
    with runs_woken_here(claim_first=True) as woken:
        fire(1), fire(2)
    assert [w.claim is not None for w in woken] == [True, False]
    assert Run.objects.get(pk=woken[1].run_id).status == RunStatus.PENDING


def test_a_queued_run_behind_an_active_one_is_not_created_claimed(journal):
    automation("queued", max_runs=5)
    first, [first_wake_up] = claimed_on_creation(1)
    second, [wake_up] = claimed_on_creation(2)
    second.refresh_from_db()
    assert wake_up.claim is None and second.status == RunStatus.PENDING
    assert run_advance(run_id=second.pk) is None  # still behind the first
    assert run_advance(run_id=first.pk, claim=first_wake_up.claim) == RunStatus.SUCCEEDED
    drain_runs()
    assert journal.texts() == ["1", "2"]


@pytest.mark.integration  # the PostgreSQL pass only: it races transactions on a row lock
def test_a_queued_run_claimed_after_a_lock_wait_starts_after_the_run_ahead_of_it_ended(journal):
    """The claim's clock is read after the bucket was seen free: a worker that waited for the pending run's
    row while the run ahead finished records a start after that finish, so the two never seem to overlap."""
    import threading

    from django.db import connection, transaction

    from automation.engine.runs.wakeups import runs_woken_here
    from testing.lock_waits import backend_pid, wait_until_waiting_on_lock

    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL: run it in the PostgreSQL pass of the test command")
    automation("queued", max_runs=5)
    first, [first_wake_up] = claimed_on_creation(1)
    second, _ = claimed_on_creation(2)
    locked, release, claimer_pid, claims, errors = threading.Event(), threading.Event(), [], [], []

    def holder():  # e.g. a sweeper's re-send looking at the pending run at that moment
        try:
            with transaction.atomic():
                Run.objects.select_for_update().get(pk=second.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    def claimer():
        try:
            claimer_pid.append(backend_pid())
            claims.append(run_claim(run_id=second.pk))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=holder), threading.Thread(target=claimer)]
    threads[0].start()
    assert locked.wait(5)
    threads[1].start()
    deadline = time.monotonic() + 10
    while not claimer_pid and not errors and time.monotonic() < deadline:
        time.sleep(0.01)
    assert claimer_pid, errors
    wait_until_waiting_on_lock(claimer_pid[0])
    with runs_woken_here():  # the wake-up of the second is the claimer's to take, not a message's
        assert run_advance(run_id=first.pk, claim=first_wake_up.claim) == RunStatus.SUCCEEDED
    release.set()
    for thread in threads:
        thread.join(20)
    assert errors == [] and claims[0] is not None and claims[0].first_start
    first.refresh_from_db(), second.refresh_from_db()
    assert second.started_at > first.finished_at


def test_a_run_created_claimed_by_a_worker_that_died_is_recovered_when_its_lease_lapses(journal):
    automation("parallel")
    run, _ = claimed_on_creation(1)  # the routing worker dies before walking it
    assert recover_stalled_runs() == 0  # its lease still runs
    Run.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert recover_stalled_runs() == 1
    assert run_advance(run_id=run.pk) == RunStatus.SUCCEEDED
    run.refresh_from_db()
    assert run.attempts == 2 and journal.texts() == ["1"]


@pytest.mark.integration  # the PostgreSQL pass only: it races two claims on their own connections
def test_a_queued_run_is_not_claimed_while_the_run_ahead_of_it_starts_between_two_reads(journal):
    """The claim of a pending queued run decides "nothing ahead of me" on one snapshot of its bucket: the older
    pending run ahead of it, claimed by another worker in the middle of that decision, is seen either pending
    or running, never neither (two reads could miss it in both, and both runs would be active at once)."""
    import threading

    from django.db import connection

    from automation.engine.runs.wakeups import runs_woken_here

    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL: run it in the PostgreSQL pass of the test command")
    automation("queued", max_runs=5)
    first, [first_wake_up] = claimed_on_creation(1)
    second, third = fire(2), fire(3)
    with runs_woken_here():  # the second's wake-up is ours to act on, not a message's
        assert run_advance(run_id=first.pk, claim=first_wake_up.claim) == RunStatus.SUCCEEDED
    other_claims, looked = [], []
    run_table = Run._meta.db_table

    def the_other_worker_claims_the_second(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        # Right after the third's claim first reads its bucket (the row lock is taken before, FOR UPDATE)
        if run_table in sql and "FOR UPDATE" not in sql and not looked:
            looked.append(sql)
            thread = threading.Thread(target=lambda: (other_claims.append(run_claim(run_id=second.pk)),
                                                      connection.close()))
            thread.start()
            thread.join(20)
        return result

    with connection.execute_wrapper(the_other_worker_claims_the_second):
        third_claim = run_claim(run_id=third.pk)
    assert looked and other_claims[0] is not None  # the race happened: the second started meanwhile
    assert third_claim is None
    assert dict(Run.objects.filter(pk__in=[second.pk, third.pk]).values_list("payload__n", "status")) == {
        2: RunStatus.RUNNING, 3: RunStatus.PENDING}
