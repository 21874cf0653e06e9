"""What a prober does through the API: claim its location's due checks, and hand back their results.

A claim leases one placement (a check at a location) until the probe's timeout plus a margin and gives it a
fresh random fence token; the next due time is set in the same UPDATE, as the central scheduler does
(checks/scheduling.py). A result is recorded only while it carries the placement's current token, which
recording clears: a replayed result, a forged one, one for another location's check, or one from a claim
that lapsed and was claimed again all find no placement to write and are refused. A dead prober's leases
pass and the placements are claimed again by whichever prober of that location asks next.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from catalog.models import System

from ..health import system_health_follow
from ..models import ERROR_MAX_LENGTH, Check, CheckKind, CheckLocation
from ..probes.secret_headers import HeaderError, headers_render
from ..results import result_record
from ..scheduling import jitter_seconds
from ..validation import CONFIG_FIELDS
from .state import check_quorum_refresh, effective_quorum

# Fields a prober needs to run a check: its configuration, without what only the core uses.
CORE_ONLY = ("name", "enabled", "heartbeat_grace_seconds", "health_quorum")
PROBE_FIELDS = tuple(name for name in CONFIG_FIELDS if name not in CORE_ONLY)
# A result's time may be this far before its claim (clock skew between prober and core), not more.
CLOCK_SKEW = timedelta(seconds=60)


@dataclass(frozen=True)
class Refusal:
    index: int
    reason: str


def _next_due(placement: CheckLocation, interval: int, now: datetime) -> datetime:
    step = timedelta(seconds=interval)
    # From the due time, not the claim time, so a late claim does not push every later run back.
    due = placement.next_run_at + step
    if due <= now:
        due = now + step
    return due + timedelta(seconds=jitter_seconds(interval))


def probe_config(check: Check) -> dict:
    """What the prober runs: the check's probe fields, its header secrets resolved (sent over the API only)."""
    config = {name: getattr(check, name) for name in PROBE_FIELDS}
    if not check.headers:
        return config  # nothing to render (the common case: no template engine per claim)
    try:
        config["headers"] = headers_render(check.headers or {})
    except HeaderError as exc:
        config["headers"], config["headers_error"] = {}, str(exc)
    return config


@transaction.atomic
def prober_claim(*, location_id, limit: int, now: datetime | None = None) -> list[dict]:
    """Lease up to `limit` of the location's due checks; one claim (token, check config) each."""
    now = now or timezone.now()
    due = (CheckLocation.objects.select_for_update(skip_locked=True, of=("self",))
           .select_related("check_ref")
           .filter(location_id=location_id, next_run_at__lte=now, check_ref__enabled=True)  # check_location_due
           .exclude(check_ref__kind=CheckKind.HEARTBEAT)
           .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
           .order_by("next_run_at")[:limit])
    claimed = list(due)
    due_at = {placement.pk: placement.next_run_at for placement in claimed}  # the run each claim is for
    for placement in claimed:
        check = placement.check_ref
        placement.lease_token = secrets.token_urlsafe(24)
        margin = settings.CHECKSTACK_PROBER_LEASE_MARGIN_SECONDS
        placement.lease_until = now + timedelta(seconds=check.timeout_seconds + margin)
        placement.next_run_at = _next_due(placement, check.interval_seconds, now)
    CheckLocation.objects.bulk_update(claimed, ["lease_token", "lease_until", "next_run_at"])
    return [{"claim": p.lease_token, "check_id": str(p.check_ref_id), "lease_until": p.lease_until.isoformat(),
             "due_at": due_at[p.pk].isoformat(), "check": probe_config(p.check_ref)} for p in claimed]


def _run_time(at: datetime | None, now: datetime, lease_until: datetime | None) -> datetime:
    """The prober's run time, trusted only within the claim's life (its clock may be off)."""
    if at is None or at > now or (lease_until is not None and at < lease_until - timedelta(hours=1) - CLOCK_SKEW):
        return now
    return at


def _record_one(location_id, result: dict, now: datetime) -> str | None:
    """Record one result under its claim; the reason it is refused, or None."""
    token = result["claim"]
    placement = (CheckLocation.objects.filter(location_id=location_id, check_ref_id=result["check_id"])
                 .values("check_ref__system_id", "check_ref__health_quorum", "check_ref__system__health_quorum",
                         "lease_token", "lease_until").first())
    if placement is None or not token or not secrets.compare_digest(placement["lease_token"], token):
        return "not claimed under this lease (replayed, forged, lapsed, or another location's check)"
    with transaction.atomic():
        # The system first, then the placement and the check: the lock order of every health write.
        system = System.objects.select_for_update().filter(pk=placement["check_ref__system_id"]).first()
        at = _run_time(result.get("at"), now, placement["lease_until"])
        ok, error = result["ok"], (result.get("error") or "")[:ERROR_MAX_LENGTH]
        # The fence: only the claim holding the current token writes, once (the token is cleared here).
        written = CheckLocation.objects.filter(location_id=location_id, check_ref_id=result["check_id"],
                                               lease_token=token).update(
            lease_token="", lease_until=None, last_run_at=at, last_ok=ok, last_error=error,
            last_latency_ms=result.get("latency_ms"),
            consecutive_failures=0 if ok else F("consecutive_failures") + 1)
        if not written or system is None:
            return "not claimed under this lease (replayed, forged, lapsed, or another location's check)"
        check = Check(pk=result["check_id"], system_id=placement["check_ref__system_id"])
        result_record(check=check, location_id=location_id, at=at, ok=ok, latency_ms=result.get("latency_ms"),
                      error=error, tls_days_left=result.get("tls_days_left"), value=result.get("value"))
        check_quorum_refresh(check_id=result["check_id"], run_at=at,
                             quorum=effective_quorum(placement["check_ref__health_quorum"],
                                                     placement["check_ref__system__health_quorum"]))
        system_health_follow(system=system)
    return None


def prober_results_record(*, location_id, results: list[dict]) -> tuple[int, list[Refusal]]:
    """Record a batch of results, each in its own transaction; how many were recorded, and the refusals."""
    now = timezone.now()
    refused = []
    for index, result in enumerate(results):
        reason = _record_one(location_id, result, now)
        if reason:
            refused.append(Refusal(index, reason))
    return len(results) - len(refused), refused
