"""One run of a claimed check: probe, record the result, update the check, release the lease, follow health.

Idempotent in effect for a repeated message: a run starts only while its claim's lease is the check's
(scheduling.lease_renew), so a redelivered or stale message does nothing.
"""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from automation.masking import mask, masking_scope
from catalog.models import System

from .health import system_health_follow
from .models import ERROR_MAX_LENGTH, Check, CheckResult
from .probes import ProbeOutcome, probe_run
from .results import result_record
from .scheduling import lease_renew

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunReport:
    result: CheckResult
    health_status: str | None  # the status written, None when unchanged (or not managed by checks)


def probe_masked(check: Check) -> ProbeOutcome:
    """Probe inside a masking scope: whatever it resolved is masked in the error before the scope ends."""
    with masking_scope():
        try:
            outcome = probe_run(check)
        except Exception as exc:  # a bug in a probe is this run's failure, not a stuck lease
            logger.exception("check %s: the probe raised", check.pk)
            outcome = ProbeOutcome.failed(f"internal error: {type(exc).__name__}")
        return ProbeOutcome(outcome.ok, outcome.latency_ms, mask(outcome.error)[:ERROR_MAX_LENGTH],
                            outcome.tls_days_left, outcome.value)


def _record(check: Check, lease, at, outcome: ProbeOutcome) -> RunReport | None:
    """Write the result and the check's state, release the lease and follow health: one transaction."""
    with transaction.atomic():
        # The system first, then the check: the lock order of every health write (checks/health.py).
        system = System.objects.select_for_update().filter(pk=check.system_id).first()
        # The lease is released only if still this run's: a lease taken over by a newer claim stays.
        updated = Check.objects.filter(pk=check.pk).update(
            last_run_at=at, last_ok=outcome.ok, last_error=outcome.error, last_latency_ms=outcome.latency_ms,
            consecutive_failures=0 if outcome.ok else F("consecutive_failures") + 1,
            lease_until=Case(When(lease_until=lease, then=Value(None)), default=F("lease_until")))
        if system is None or not updated:
            return None  # deleted while it ran: nothing to record
        # Under the system's lock taken above: the only writer of this check's bucket now.
        result = result_record(check=check, at=at, ok=outcome.ok, latency_ms=outcome.latency_ms,
                               error=outcome.error, tls_days_left=outcome.tls_days_left, value=outcome.value)
        health = system_health_follow(system=system)
    return RunReport(result, health.status if health is not None else None)


def check_execute(*, check_id, lease: str) -> RunReport | None:
    """Run the check a claim leased; None when the claim is stale (see scheduling.lease_renew)."""
    check = Check.objects.filter(pk=check_id).first()
    if check is None:
        return None
    renewed = lease_renew(check=check, lease=lease)
    if renewed is None:
        return None
    at = timezone.now()
    outcome = probe_masked(check)
    return _record(check, renewed, at, outcome)
