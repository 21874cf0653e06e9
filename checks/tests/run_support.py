"""Setup for the tests of running checks: a system and its checks, made directly (checks are not tracked)."""

from catalog.models import HealthSource, System
from catalog.tests.factories import make_system
from checks.models import Check, CheckKind


def make_checked_system(name: str = "api", *, threshold: int = 3, degraded_latency_ms: int | None = None,
                        source: str = HealthSource.CHECKS) -> System:
    """A system whose health its checks set, with the given rule."""
    system = make_system(name)
    system.health_source, system.health_failure_threshold = source, threshold
    system.health_degraded_latency_ms = degraded_latency_ms
    system.save()  # through the mutation service, as the admin's save is
    return system


def make_check(system: System, *, name: str = "probe", kind: str = CheckKind.HTTP, **fields) -> Check:
    fields.setdefault("interval_seconds", 30)
    fields.setdefault("timeout_seconds", 2)
    return Check.objects.create(system=system, name=name, kind=kind, **fields)
