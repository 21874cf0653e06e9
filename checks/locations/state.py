"""A located check's own state (`Check.last_*`) is the quorum of its online locations' states: refreshed after
each location result and whenever one of its locations goes offline or comes back, then health follows.

Lock order as everywhere a health is written (checks/health.py): the system's row, then the check's.
"""

from catalog.models import System

from ..health import system_health_follow
from ..models import ERROR_MAX_LENGTH, Check, CheckLocation, LocationStatus
from ..row_writes import locked_rows_write
from .quorum import LocationState, quorum_combine


def effective_quorum(check_quorum: int | None, system_quorum: int | None) -> int | None:
    """The check's own quorum, else its system's; None: a majority."""
    return check_quorum if check_quorum is not None else system_quorum


def location_states(check_id) -> list[LocationState]:
    """The check's per-location states; offline locations' as "no data"."""
    return locations_states([check_id]).get(str(check_id), [])


def locations_states(check_ids) -> dict[str, list[LocationState]]:
    """location_states of several checks, by check id (one query)."""
    out: dict[str, list[LocationState]] = {}
    rows = (CheckLocation.objects.filter(check_ref_id__in=list(check_ids))
            .values_list("check_ref_id", "location__name", "location__status", "last_ok", "consecutive_failures",
                         "last_latency_ms", "last_error"))
    for check_id, name, status, ok, failures, latency, error in rows:
        state = LocationState(name, ok if status == LocationStatus.ONLINE else None, failures, latency, error)
        out.setdefault(str(check_id), []).append(state)
    return out


def check_quorum_refresh(*, check_id, quorum: int | None, run_at=None) -> None:
    """Write the check's state as its locations amount to; the system's row must be locked by the caller."""
    checks_quorum_refresh(checks=[(check_id, quorum, run_at)])


def checks_quorum_refresh(*, checks: list[tuple]) -> None:
    """check_quorum_refresh of several checks, (check id, quorum, run at or None) each: two reads and one write;
    the systems' rows must be locked by the caller (the checks' are locked here, after them)."""
    states = locations_states(check_id for check_id, _quorum, _run_at in checks)
    locked = {str(check.pk): check for check in Check.objects.select_for_update(of=("self",))
              .filter(pk__in=[check_id for check_id, _quorum, _run_at in checks]).order_by("pk")}
    for check_id, quorum, run_at in checks:
        check = locked.get(str(check_id))
        if check is None:
            continue  # deleted meanwhile
        combined = quorum_combine(states.get(str(check_id), []), quorum)
        check.last_ok, check.consecutive_failures = combined.last_ok, combined.consecutive_failures
        check.last_latency_ms, check.last_error = combined.latency_ms, combined.error[:ERROR_MAX_LENGTH]
        check.last_run_at = run_at or check.last_run_at
    locked_rows_write(Check, list(locked.values()), ["last_ok", "consecutive_failures", "last_latency_ms",
                                                     "last_error", "last_run_at"])


def location_checks(location_id) -> list[tuple]:
    """(system id, check id, check quorum, system quorum) of the checks with a result at the location.

    Only placements with a result there change anything: a location's first heartbeat touches no check.
    """
    return list(CheckLocation.objects.filter(location_id=location_id, last_ok__isnull=False)
                .values_list("check_ref__system_id", "check_ref_id", "check_ref__health_quorum",
                             "check_ref__system__health_quorum")
                .order_by("check_ref__system_id", "check_ref_id"))


def location_checks_follow(*, location_id, rows: list[tuple] | None = None) -> None:
    """After a location's status changed (or it was deleted, with `rows` read before): refresh each of its
    checks, then each system's health, once."""
    rows = location_checks(location_id) if rows is None else rows
    by_system: dict = {}
    for system_id, check_id, quorum, system_quorum in rows:
        by_system.setdefault(system_id, []).append((check_id, effective_quorum(quorum, system_quorum)))
    for system_id, checks in by_system.items():
        system = System.objects.select_for_update().filter(pk=system_id).first()
        if system is None:
            continue
        for check_id, quorum in checks:
            check_quorum_refresh(check_id=check_id, quorum=quorum)
        system_health_follow(system=system)

