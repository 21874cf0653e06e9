"""Celery entry points of checks: beat's claim of due checks, and runs of claimed checks (on checkstack.checks)."""

from functools import partial

from celery import shared_task
from django.conf import settings
from django.db import transaction

from .execution import check_execute
from .locations.services import locations_sweep
from .run_batches import checks_execute
from .scheduling import Claim, checks_claim_due


@shared_task(name="checkstack.schedule_checks", ignore_result=True)
def schedule_checks() -> int:
    """Claim the checks due now and queue them in batches once the claim is committed."""
    size = settings.CHECKSTACK_CHECKS_BATCH
    with transaction.atomic():
        claims = checks_claim_due()
        for start in range(0, len(claims), size):
            batch = [[claim.check_id, claim.lease] for claim in claims[start:start + size]]
            # robust: a broker error must not hide the other batches; the leases pass and beat claims them again.
            transaction.on_commit(partial(run_checks.delay, batch), robust=True)
    return len(claims)


@shared_task(name="checkstack.run_checks", ignore_result=True)
def run_checks(claims: list[list[str]]) -> None:
    """Run a batch of claimed checks (ids and leases). A lost message costs one run of each: the leases pass
    and beat claims them again."""
    checks_execute(claims=[Claim(check_id, lease) for check_id, lease in claims])


@shared_task(name="checkstack.run_check", ignore_result=True)
def run_check(check_id: str, lease: str) -> None:
    """Run one claimed check (messages queued before batches existed). A lost message costs one run: the lease
    passes and beat claims it again."""
    check_execute(check_id=check_id, lease=lease)


@shared_task(name="checkstack.locations_sweep", ignore_result=True)
def sweep_locations() -> int:
    """Set offline the locations whose prober went quiet."""
    return len(locations_sweep())
