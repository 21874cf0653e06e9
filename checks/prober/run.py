"""One claimed check run by the prober with the core's own probes and target guard.

The check is rebuilt in memory from the claim (never saved: the prober has no database). The target guard
reads this process's settings, so its allow-list (CHECKSTACK_CHECKS_ALLOWLIST) is the prober's own: it
watches its own network.
"""

import logging
import math
from dataclasses import replace
from datetime import UTC, datetime

from automation.masking import mask, masking_scope

from ..models import ERROR_MAX_LENGTH, Check
from ..probes import ProbeOutcome, probe_run

logger = logging.getLogger("checkstack.prober")
CHECK_FIELDS = frozenset(field.name for field in Check._meta.concrete_fields)


def claim_check(config: dict) -> Check:
    """An unsaved Check holding the claim's configuration (fields this version does not know are ignored)."""
    return Check(**{name: value for name, value in config.items() if name in CHECK_FIELDS})


def claim_run(claim: dict) -> dict:
    """Run the claimed check; the result to post."""
    at = datetime.now(UTC)
    config = claim.get("check") or {}
    if config.get("headers_error"):
        outcome = ProbeOutcome.failed(config["headers_error"])
    else:
        with masking_scope():
            try:
                outcome = probe_run(claim_check(config))
            except Exception as exc:  # a bug in a probe is this run's failure, not a lost claim
                logger.exception("check %s: the probe raised", claim.get("check_id"))
                outcome = ProbeOutcome.failed(f"internal error: {type(exc).__name__}")
            outcome = replace(outcome, error=mask(outcome.error)[:ERROR_MAX_LENGTH])
    return {"claim": claim["claim"], "check_id": claim["check_id"], "at": at.isoformat(), "ok": outcome.ok,
            "latency_ms": outcome.latency_ms, "error": outcome.error, "tls_days_left": outcome.tls_days_left,
            "value": outcome.value if outcome.value is not None and math.isfinite(outcome.value) else None}
