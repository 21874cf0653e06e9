"""Celery entry points of checks: beat's claim of due checks, and one check's run (on checkstack.checks)."""

from functools import partial

from celery import shared_task
from django.db import transaction

from .execution import check_execute
from .locations.services import locations_sweep
from .scheduling import checks_claim_due


@shared_task(name="checkstack.schedule_checks", ignore_result=True)
def schedule_checks() -> int:
    """Claim the checks due now and queue a run of each once the claim is committed."""
    with transaction.atomic():
        claims = checks_claim_due()
        for claim in claims:
            # robust: a broker error must not hide the other claims; the lease passes and beat claims it again.
            transaction.on_commit(partial(run_check.delay, claim.check_id, claim.lease), robust=True)
    return len(claims)


@shared_task(name="checkstack.run_check", ignore_result=True)
def run_check(check_id: str, lease: str) -> None:
    """Run one claimed check. A lost message costs one run: the lease passes and beat claims it again."""
    check_execute(check_id=check_id, lease=lease)


@shared_task(name="checkstack.locations_sweep", ignore_result=True)
def sweep_locations() -> int:
    """Set offline the locations whose prober went quiet."""
    return len(locations_sweep())
