"""What a prober does through the API: claim its location's due checks, and hand back their results.

A claim leases one placement (a check at a location) until the probe's timeout plus a margin and gives it a
fresh random fence token; the next due time is set in the same UPDATE, as the central scheduler does
(checks/scheduling.py). A result is recorded only while it carries the placement's current token, which
recording clears: a replayed result, a forged one, one for another location's check, or one from a claim
that lapsed and was claimed again all find no placement to write and are refused. A dead prober's leases
pass and the placements are claimed again by whichever prober of that location asks next.
"""

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from catalog.models import System

from ..health import systems_health_follow
from ..models import ERROR_MAX_LENGTH, Check, CheckKind, CheckLocation
from ..probes.secret_headers import HeaderError, headers_render
from ..results import ResultIn, results_record
from ..row_writes import locked_rows_write
from ..scheduling import jitter_seconds
from ..validation import CONFIG_FIELDS
from .state import checks_quorum_refresh, effective_quorum

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
    locked_rows_write(CheckLocation, claimed, ["lease_token", "lease_until", "next_run_at"])
    return [{"claim": p.lease_token, "check_id": str(p.check_ref_id), "lease_until": p.lease_until.isoformat(),
             "due_at": due_at[p.pk].isoformat(), "check": probe_config(p.check_ref)} for p in claimed]


def _run_time(at: datetime | None, now: datetime, lease_until: datetime | None) -> datetime:
    """The prober's run time, trusted only within the claim's life (its clock may be off)."""
    if at is None or at > now or (lease_until is not None and at < lease_until - timedelta(hours=1) - CLOCK_SKEW):
        return now
    return at


REFUSED = "not claimed under this lease (replayed, forged, lapsed, or another location's check)"


def _uuid(value) -> uuid.UUID:
    # UUIDs, not strings, in the IN lists: Django converts each string again when it compiles them.
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _holds(placement, token: str) -> bool:
    return bool(placement is not None and token and placement.lease_token
                and secrets.compare_digest(placement.lease_token, token))


def _fence(location_id, held: list[tuple[int, dict]], now: datetime) -> tuple[list, list[Refusal]]:
    """Lock the batch's systems, then its placements (the lock order of every health write: checks/health.py),
    and keep the results whose claim is still current; (system, placement, result) of each kept, the refused."""
    check_ids = {_uuid(result["check_id"]) for _index, result in held}
    system_of = dict(Check.objects.filter(pk__in=check_ids).values_list("pk", "system_id"))
    # Sorted: two batches sharing systems lock them in one order and never deadlock.
    systems = {s.pk: s for s in System.objects.select_for_update().filter(pk__in=set(system_of.values()))
               .order_by("pk")}
    placements = {str(p.check_ref_id): p for p in CheckLocation.objects.select_for_update()
                  .filter(location_id=location_id, check_ref_id__in=check_ids).order_by("pk")}
    kept, refused = [], []
    for index, result in held:
        placement = placements.get(str(result["check_id"]))
        system = systems.get(system_of.get(placement.check_ref_id)) if placement is not None else None
        # The fence, on the locked row: only the claim holding the current token writes, once (cleared below,
        # so the same claim twice in one batch is refused the second time).
        if system is None or not _holds(placement, result["claim"]):
            refused.append(Refusal(index, REFUSED))
            continue
        at = _run_time(result.get("at"), now, placement.lease_until)
        ok, error = result["ok"], (result.get("error") or "")[:ERROR_MAX_LENGTH]
        placement.lease_token, placement.lease_until, placement.last_run_at = "", None, at
        placement.last_ok, placement.last_error, placement.last_latency_ms = ok, error, result.get("latency_ms")
        placement.consecutive_failures = 0 if ok else placement.consecutive_failures + 1
        kept.append((system, placement, {**result, "at": at, "error": error}))
    return kept, refused


@transaction.atomic
def _record_held(location_id, held: list[tuple[int, dict]], now: datetime) -> list[Refusal]:
    """Record the results whose claims looked current, in one transaction; the ones refused on the locked rows."""
    kept, refused = _fence(location_id, held, now)
    if not kept:
        return refused
    locked_rows_write(CheckLocation, [placement for _s, placement, _r in kept], [
        "lease_token", "lease_until", "last_run_at", "last_ok", "last_error", "last_latency_ms",
        "consecutive_failures"])
    results_record(results=[ResultIn(placement.check_ref_id, system.pk, r["at"], r["ok"], r.get("latency_ms"),
                                     r["error"], r.get("tls_days_left"), r.get("value"), location_id)
                            for system, placement, r in kept])
    quorums = dict(Check.objects.filter(pk__in=[p.check_ref_id for _s, p, _r in kept])
                   .values_list("pk", "health_quorum"))
    checks_quorum_refresh(checks=[(p.check_ref_id, effective_quorum(quorums.get(p.check_ref_id), s.health_quorum),
                                   r["at"]) for s, p, r in kept])
    systems = {system.pk: system for system, _p, _r in kept}
    systems_health_follow(systems=[systems[pk] for pk in sorted(systems)])
    return refused


def prober_results_record(*, location_id, results: list[dict]) -> tuple[int, list[Refusal]]:
    """Record a batch of results in one transaction; how many were recorded, and the refusals.

    A first unlocked read refuses what holds no current claim (a replayed batch costs one query); the rest
    is fenced again on the locked rows and written in a fixed number of statements, whatever its size.
    """
    now = timezone.now()
    tokens = {str(check_id): token for check_id, token in CheckLocation.objects.filter(
        location_id=location_id, check_ref_id__in={_uuid(r["check_id"]) for r in results})
        .values_list("check_ref_id", "lease_token")}
    held, refused = [], []
    for index, result in enumerate(results):
        token = tokens.get(str(result["check_id"]))
        if token and result["claim"] and secrets.compare_digest(token, result["claim"]):
            held.append((index, result))
        else:
            refused.append(Refusal(index, REFUSED))
    if held:
        refused = sorted(refused + _record_held(location_id, held, now), key=lambda refusal: refusal.index)
    return len(results) - len(refused), refused
