"""Beat's SLO evaluation pass (listed in CELERY_IMPORTS: the worker finds only tasks.py modules of apps)."""

from celery import shared_task


@shared_task(name="checkstack.slos_evaluate")
def slos_evaluate() -> None:
    from .evaluation import slos_evaluate as evaluate

    evaluate()
