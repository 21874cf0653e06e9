"""The Celery app: configuration from Django settings, tasks found in each app's tasks.py."""

import logging.config
import os

from celery import Celery
from celery.signals import setup_logging, task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "checkstack.settings")

app = Celery("checkstack")
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
