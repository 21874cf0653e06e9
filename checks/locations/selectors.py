"""Reads of locations for the status page and the admin: a system's state and latency per location."""

from dataclasses import dataclass

from ..models import CheckLocation, LocationStatus


@dataclass(frozen=True)
class LocationView:
    name: str
    online: bool
    state: str  # "operational", "failing" or "no data"
    latency_ms: int | None  # the highest last latency of the passing checks there


def system_locations(system_id) -> list[LocationView]:
    """Each location the system's enabled checks run from, by name: one query."""
    rows = (CheckLocation.objects.filter(check_ref__system_id=system_id, check_ref__enabled=True)
            .values_list("location__name", "location__status", "last_ok", "last_latency_ms")
            .order_by("location__name"))
    grouped: dict[str, list] = {}
    for name, status, ok, latency in rows:
        grouped.setdefault(name, [status == LocationStatus.ONLINE]).append((ok, latency))
    views = []
    for name, (online, *runs) in grouped.items():
        ran = [(ok, latency) for ok, latency in runs if ok is not None]
        if not online or not ran:
            views.append(LocationView(name, online, "no data", None))
            continue
        passing = [latency for ok, latency in ran if ok and latency is not None]
        state = "operational" if all(ok for ok, _ in ran) else "failing"
        views.append(LocationView(name, online, state, max(passing) if passing else None))
    return views
