"""A checks-managed system's health: derived after each result, written only when its status changes.

Called inside the result's transaction with the system's row locked (lock order, as catalog.services:
the system, then its health). Two checks of one system finishing together therefore derive one after the
other, the second from both results, and a status change is written once and never lost.
"""

from catalog.models import HealthSource, System, SystemHealth
from catalog.services import health_report

from .health_rule import CheckState, HealthRule, health_derive
from .models import Check

ACTOR = "system:checks"


def checks_states(system_ids) -> dict[str, list[CheckState]]:
    """The enabled checks' states of each system, by system id (one query)."""
    out: dict[str, list[CheckState]] = {}
    rows = Check.objects.filter(system_id__in=list(system_ids), enabled=True).values_list(
        "system_id", "name", "last_ok", "consecutive_failures", "last_latency_ms", "last_error")
    for system_id, *state in rows:
        out.setdefault(str(system_id), []).append(CheckState(*state))
    return out


def system_health_follow(*, system: System) -> SystemHealth | None:
    """Write the health the system's checks amount to if its status differs; the health written or None.

    `system` must be locked by the caller (select_for_update) in the current transaction.
    """
    return systems_health_follow(systems=[system]).get(str(system.pk))


def systems_health_follow(*, systems: list[System]) -> dict[str, SystemHealth]:
    """system_health_follow for several systems, each locked by the caller: two reads for all of them, then a
    health report (the mutation service) for each whose status changes only; the healths written, by id."""
    managed = [system for system in systems if system.health_source == HealthSource.CHECKS]
    if not managed:
        return {}
    states = checks_states(system.pk for system in managed)
    current = dict(SystemHealth.objects.filter(pk__in=[system.pk for system in managed])
                   .values_list("pk", "status"))
    written = {}
    for system in managed:
        derived = health_derive(states.get(str(system.pk), []),
                                HealthRule(system.health_failure_threshold, system.health_degraded_latency_ms))
        if derived is None or current.get(system.pk) == derived.status:
            continue  # no data, or a sample, not a transition: the change log keeps transitions only
        written[str(system.pk)] = health_report(system=system, status=derived.status, message=derived.message,
                                                latency_ms=derived.latency_ms, actor=ACTOR,
                                                source=HealthSource.CHECKS)
    return written
