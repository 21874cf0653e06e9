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


def check_states(system_id) -> list[CheckState]:
    rows = Check.objects.filter(system_id=system_id, enabled=True).values_list(
        "name", "last_ok", "consecutive_failures", "last_latency_ms", "last_error")
    return [CheckState(*row) for row in rows]


def system_health_follow(*, system: System) -> SystemHealth | None:
    """Write the health the system's checks amount to if its status differs; the health written or None.

    `system` must be locked by the caller (select_for_update) in the current transaction.
    """
    if system.health_source != HealthSource.CHECKS:
        return None
    derived = health_derive(check_states(system.pk),
                            HealthRule(system.health_failure_threshold, system.health_degraded_latency_ms))
    if derived is None:
        return None
    current = SystemHealth.objects.filter(pk=system.pk).values_list("status", flat=True).first()
    if current == derived.status:
        return None  # a sample, not a transition: the change log keeps transitions only
    return health_report(system=system, status=derived.status, message=derived.message,
                         latency_ms=derived.latency_ms, actor=ACTOR, source=HealthSource.CHECKS)
