"""What the page reads of the catalog: systems with health and impact, groups in position order.

The catalog's selectors decide a system's impact and a group's status (catalog/selectors.py); this module
reads them in a fixed number of queries for the whole page.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from catalog.models import Group, System
from catalog.selectors import system_impact, system_list


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


def systems_for_page() -> QuerySet[System]:
    """Systems by name with their health and impact joined in (one query)."""
    # Only what the page shows: metadata, descriptions and timestamps of 500 systems cost more than the rest.
    return system_list().select_related("impact").only(
        "id", "name", "group_id", "health_source", "health__status", "health__message", "health__source",
        "impact__status",
        "impact__impacted_by")


def system_group_id(system: System) -> str | None:
    return None if system.group_id is None else str(system.group_id)


def impact_of(system: System) -> tuple[str | None, list[str]]:
    """The system's impact status and the ids of the systems that made it worse."""
    impact = system_impact(system=system)
    return impact.status, [str(i) for i in impact.impacted_by]
