"""Celery tasks: thin wake-ups that call a service with ids only."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from .entities import delivery

# A deadlock, a serialization failure or a lost connection is not the change's fault (parking does not count
# it): try again in a moment rather than leave the change to the sweeper's grace period.
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)


@shared_task(name="checkstack.route_change_event", autoretry_for=TRANSIENT_DB_ERRORS, max_retries=5,
             retry_backoff=0.2, retry_backoff_max=3, retry_jitter=True)
def route_change_event(change_id: str) -> None:
    from .engine.runs.runner import route_and_start

    route_and_start(change_id)


@shared_task(name="checkstack.deliver_change")  # queue: CELERY_TASK_ROUTES (checkstack.deliveries)
def deliver_change(delivery_id: int) -> None:
    delivery.deliver_change(delivery_id)


@shared_task(name="checkstack.broadcast_change")  # queue: CELERY_TASK_ROUTES (checkstack.broadcast)
def broadcast_change(change_id: str) -> None:
    delivery.broadcast_change(change_id)


@shared_task(name="checkstack.sweep_undelivered")
def sweep_undelivered() -> None:
    delivery.sweep_undelivered()


@shared_task(name="checkstack.advance_run")
def advance_run(run_id: str) -> None:
    from .engine.runs.runner import run_advance

    run_advance(run_id=run_id)


@shared_task(name="checkstack.advance_branch")
def advance_branch(branch_id: int) -> None:
    from .engine.branches.runner import branch_advance

    branch_advance(branch_id=branch_id)


@shared_task(name="checkstack.resume_branch")
def resume_branch(branch_id: int) -> None:
    from .engine.branches.runner import branch_advance

    branch_advance(branch_id=branch_id, resume=True)


@shared_task(name="checkstack.recover_stalled_runs")
def recover_stalled_runs() -> None:
    from .engine.runs.recovery import recover_stalled_runs as recover

    recover()


@shared_task(name="checkstack.resume_run")
def resume_run(run_id: str) -> None:
    from .engine.runs.runner import run_advance

    run_advance(run_id=run_id, resume=True)


@shared_task(name="checkstack.fire_due_timers")
def fire_due_timers() -> None:
    from .engine.waiting.timers import timers_fire_due

    timers_fire_due()


@shared_task(name="checkstack.fire_schedules")
def fire_schedules() -> None:
    from .engine.firing.schedules import schedules_fire

    schedules_fire()


@shared_task(name="checkstack.purge_expired")
def purge_expired() -> None:
    from .retention import purge_expired as purge

    purge()
