"""The Celery app: configuration from Django settings, tasks found in each app's tasks.py."""

import logging.config
import os

from celery import Celery
from celery.signals import setup_logging

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
