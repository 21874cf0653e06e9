"""The Celery app: configuration from Django settings, tasks found in each app's tasks.py."""

import logging.config
import os
import time

from billiard.process import current_process
from celery import Celery, Task
from celery.signals import setup_logging, task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "checkstack.settings")


class RecycledAfterTimeLimit(Task):
    """A task that ran past its soft time limit ends its pool process once it has returned.

    The soft limit raises SoftTimeLimitExceeded wherever the task stood (in an expression, a database call),
    and the firing or step it was deciding records that as its error; the process is then not trusted with
    another task. SystemExit raised by the task itself is reported by the pool as this task's result (so the
    message is acknowledged, not redelivered) and the pool starts a fresh process.
    """

    def _get_exec_options(self):
        # The limits are the worker's settings, not the publisher's: Celery stamps the publishing process's
        # task limits (its own task_soft_time_limit) into the message, and the worker obeys the message over
        # its own configuration. Left out, the worker's task.soft_time_limit / time_limit apply.
        return {**super()._get_exec_options(), "time_limit": None, "soft_time_limit": None}

    def __call__(self, *args, **kwargs):
        started = time.monotonic()
        try:
            return super().__call__(*args, **kwargs)
        finally:
            limit = self.soft_time_limit or self.app.conf.task_soft_time_limit
            # Only a pool child: in a solo worker (or eagerly, in tests) this process is the worker itself.
            if limit and time.monotonic() - started >= limit and current_process().name != "MainProcess":
                logging.getLogger(__name__).error("task %s ran past its soft time limit of %ss; its worker "
                                                  "process is recycled", self.name, limit)
                raise SystemExit(1)


app = Celery("checkstack", task_cls=RecycledAfterTimeLimit)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def use_django_logging(**_kwargs):
    """Workers and beat log through settings.LOGGING, not Celery's own handlers.

    Celery would otherwise replace the root handlers and with them the filters that mask resolved secrets
    and add run and change ids: a worker's log lines must be as safe as the web process's.
    """
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@task_prerun.connect
@task_postrun.connect
def close_old_database_connections(**_kwargs):
    """At task boundaries, what Django does at request boundaries: drop a connection past CONN_MAX_AGE or
    broken, and health-check the kept one at its first use (CONN_HEALTH_CHECKS).

    The connection is otherwise reused across tasks (CELERY_DB_REUSE_MAX): a PostgreSQL connection per
    task cost more than the task's own work.
    """
    from django.db import close_old_connections

    close_old_connections()
