"""Each task's queue, as a process publishing it by name routes it, and which queues the Procfile's worker takes."""

import shlex

from celery.utils.text import str_to_list
from django.conf import settings

from checkstack.celery import app

DELIVERIES = "checkstack.deliveries"
# Every task of ours and its queue: a new task fails here until someone decides where it runs.
QUEUES = {
    "checkstack.route_change_event": "celery",
    "checkstack.advance_run": "celery",
    "checkstack.resume_run": "celery",
    "checkstack.advance_branch": "celery",
    "checkstack.resume_branch": "celery",
    "checkstack.recover_stalled_runs": "celery",
    "checkstack.fire_due_timers": "celery",
    "checkstack.fire_schedules": "celery",
    "checkstack.sweep_undelivered": "celery",
    "checkstack.sweep_notifications": "celery",
    "checkstack.sweep_channel_deliveries": "celery",
    "checkstack.maintenance_advance_schedule": "celery",
    "checkstack.locations_sweep": "celery",
    "checkstack.deliver_change": DELIVERIES,
    "checkstack.send_notification": DELIVERIES,
    "checkstack.send_channel_delivery": DELIVERIES,
    "checkstack.send_channel_deliveries": DELIVERIES,
    "checkstack.send_subscription_confirmation": DELIVERIES,
    "checkstack.purge_expired": DELIVERIES,
    "checkstack.rollups_refresh": DELIVERIES,
    "checkstack.slos_evaluate": DELIVERIES,
    "checkstack.schedule_checks": "celery",
    "checkstack.run_check": "checkstack.checks",
    "checkstack.run_checks": "checkstack.checks",
    "checkstack.broadcast_change": "checkstack.broadcast",
}


def routed_queue(task_name: str) -> str:
    # No task_type: what a process that never imported the task's module sends.
    queue = app.amqp.router.route({}, task_name)["queue"]
    return queue.alias or queue.name  # a Broadcast queue is named per worker, known by its alias


def test_every_task_of_ours_goes_to_its_queue():
    app.loader.import_default_modules()
    ours = sorted(name for name in app.tasks if name.startswith("checkstack."))

    assert ours == sorted(QUEUES)
    assert {name: routed_queue(name) for name in ours} == QUEUES


def test_no_two_queues_share_a_binding():
    # A message is copied into every queue bound with its exchange and key: two queues sharing a binding
    # would each get every message meant for either.
    declared = app.amqp.Queues(settings.CELERY_TASK_QUEUES).values()  # with Celery's defaults filled in
    bindings = [(q.exchange.name, q.exchange.type, q.routing_key) for q in declared]

    assert len(set(bindings)) == len(bindings), bindings


def consumed_by(worker_args: list[str]) -> set[str]:
    """The queues a worker started with these arguments consumes (what WorkController.setup_queues does)."""
    include = next((worker_args[i + 1] for i, arg in enumerate(worker_args) if arg in ("-Q", "--queues")), None)
    queues = app.amqp.Queues(settings.CELERY_TASK_QUEUES)
    queues.select(str_to_list(include))
    return {queue.alias or queue.name for queue in queues.consume_from.values()}


def test_the_procfile_worker_consumes_every_queue():
    [line] = [line for line in (settings.BASE_DIR / "Procfile").read_text().splitlines() if line.startswith("worker:")]
    args = shlex.split(line.removeprefix("worker:"))

    assert args[:4] == ["celery", "-A", "checkstack", "worker"]
    every_queue = {"celery", DELIVERIES, "checkstack.broadcast", "checkstack.checks"}
    assert consumed_by(args) == every_queue == set(QUEUES.values())


def test_the_pools_the_readme_describes_split_the_queues():
    assert consumed_by(["-Q", "celery,checkstack.broadcast"]) == {"celery", "checkstack.broadcast"}
    assert consumed_by(["-Q", f"{DELIVERIES},checkstack.broadcast"]) == {DELIVERIES, "checkstack.broadcast"}
    assert consumed_by(["-Q", "checkstack.checks"]) == {"checkstack.checks"}
