"""The Celery app: configuration from Django settings, tasks found in each app's tasks.py."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "checkstack.settings")

app = Celery("checkstack")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
