"""What the page reads of the catalog: systems with health and impact, groups in position order.

The catalog's selectors decide a system's impact and a group's status (catalog/selectors.py); this module
reads them in a fixed number of queries for the whole page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from catalog.models import Group, System
from catalog.selectors import impact_from, system_impact


@dataclass(frozen=True)
class PublicGroup:
    id: str
    name: str
    description: str
    position: int


def groups_ordered() -> list[PublicGroup]:
    """Every group, by position then name (one query; the page places the systems itself)."""
    rows = Group.objects.order_by("position", "name").values_list("pk", "name", "description", "position")
    return [PublicGroup(str(pk), name, description, position) for pk, name, description, position in rows]


class SystemRow(NamedTuple):
    """A system as the page reads it: plain column values, no model instances."""

    id: str
    name: str
    group_id: str | None
    status: str | None  # its own health; None before the first report
    message: str
    source: str | None  # who wrote the health message (HealthSource)
    impact_status: str | None
    impacted_by: tuple[str, ...]  # ids of the systems upstream that made it worse
    check_ids: list[str]  # its checks, if any


def systems_for_page(*, pk=None) -> list[SystemRow]:
    """Systems by name with their health, impact and check ids, as plain rows (one query).

    Only the columns the page shows, as values: 500 systems with their health and impact rows as model
    instances cost more than drawing them. The check ids let the page sum the buckets by check (checks/uptime.py).
    """
    systems = System.objects.order_by("name", "pk")  # the pk keeps a system's rows (one per check) together
    rows = (systems if pk is None else systems.filter(pk=pk)).values_list(
        "pk", "name", "group_id", "health__status", "health__message", "health__source", "impact__pk",
        "impact__status", "impact__impacted_by", "checks__pk")
    out = []
    for pk_, name, group_id, status, message, source, impact_pk, impact_status, impacted_by, check_id in rows:
        if out and out[-1].id == str(pk_):  # the same system, one more check
            out[-1].check_ids.append(str(check_id))
            continue
        impact = impact_from(row=None if impact_pk is None else (impact_status, impacted_by), health_status=status)
        out.append(SystemRow(str(pk_), name, None if group_id is None else str(group_id), status, message or "",
                             source, impact.status, tuple(str(i) for i in impact.impacted_by),
                             [] if check_id is None else [str(check_id)]))
    return out


def impact_of(system: System) -> tuple[str | None, list[str]]:
    """The system's impact status and the ids of the systems that made it worse."""
    impact = system_impact(system=system)
    return impact.status, [str(i) for i in impact.impacted_by]
