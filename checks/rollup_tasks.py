"""Beat's roll-up refresh (listed in CELERY_IMPORTS: the worker finds only tasks.py modules by itself)."""

from celery import shared_task


@shared_task(name="checkstack.rollups_refresh")
def rollups_refresh() -> None:
    from .rollups import rollups_refresh as refresh

    refresh()
