"""Reads of systems and their health."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet

from .impact_graph import Impact, worst_status
from .models import Dependency, Group, System, SystemHealth, SystemImpact


@dataclass(frozen=True)
class UnreportedHealth:
    """The health of a system nobody has reported on yet: every value unknown."""

    system_id: uuid.UUID
    status: None = None
    message: str = ""
    latency_ms: None = None
    updated_at: datetime | None = None


def system_list() -> QuerySet[System]:
    """Systems by name, each with its health, impact and group joined in (one query for the page)."""
    return System.objects.select_related("health", "impact", "group").order_by("name")


def system_health(*, system: System) -> SystemHealth | UnreportedHealth:
    """The system's health row, or an all-unknown stand-in before its first report."""
    try:
        return system.health
    except SystemHealth.DoesNotExist:
        return UnreportedHealth(system_id=system.pk)


def existing_system_ids(system_ids: Iterable, *, lock: bool = False) -> list[str]:
    """Distinct ids of existing systems, in order; a malformed or unknown id is a ValidationError.

    With `lock`, call it inside the transaction that links the systems: their rows stay locked until it
    commits, so a concurrent system_delete either committed first (the id is unknown here) or waits for the
    links to commit, and its tombstone handling then removes them. The link tables have no foreign-key
    constraint to catch a system deleted between this check and the insert, so linking writes must lock.
    """
    wanted = []
    for raw in system_ids:
        try:
            wanted.append(str(uuid.UUID(str(raw))))
        except ValueError:
            raise ValidationError({"system_ids": [f"'{raw}' is not a valid system id."]}) from None
    wanted = list(dict.fromkeys(wanted))
    systems = System.objects.select_for_update() if lock else System.objects
    found = {str(pk) for pk in systems.filter(pk__in=wanted).order_by("pk").values_list("pk", flat=True)}
    if unknown := [pk for pk in wanted if pk not in found]:
        raise ValidationError({"system_ids": [f"Unknown system id(s): {', '.join(unknown)}."]})
    return wanted


def existing_group_ids(group_ids: Iterable) -> list[str]:
    """Distinct ids of existing groups, in order; a malformed or unknown id is a ValidationError."""
    wanted = []
    for raw in group_ids:
        try:
            wanted.append(str(uuid.UUID(str(raw))))
        except ValueError:
            raise ValidationError({"group_ids": [f"'{raw}' is not a valid group id."]}) from None
    wanted = list(dict.fromkeys(wanted))
    found = {str(pk) for pk in Group.objects.filter(pk__in=wanted).values_list("pk", flat=True)}
    if unknown := [pk for pk in wanted if pk not in found]:
        raise ValidationError({"group_ids": [f"Unknown group id(s): {', '.join(unknown)}."]})
    return wanted


def systems_with_health_status(*, statuses: Iterable[str]) -> QuerySet[System]:
    """Systems whose last reported health is one of `statuses` (never-reported systems excluded)."""
    return System.objects.filter(health__status__in=list(statuses))


@dataclass(frozen=True)
class GroupSection:
    """One section of systems: a group (None: the systems in no group), its systems by name, its status."""

    group: Group | None
    systems: list[System]
    status: str | None  # the worst impact status of its systems; None while none is known


def group_list() -> QuerySet[Group]:
    """Groups in position order (then name), each with its systems, their health and impact (two queries)."""
    systems = System.objects.select_related("health", "impact").order_by("name")
    return Group.objects.order_by("position", "name").prefetch_related(Prefetch("systems", queryset=systems))


def system_impact(*, system: System) -> Impact:
    """The system's impact status and impacted_by (its own health while nothing upstream is worse).

    Reads the `impact` row the services keep for the systems that have dependency edges (the others' impact
    is their own health); join it in (`select_related("impact")`) when listing.
    """
    try:
        impact = system.impact
    except SystemImpact.DoesNotExist:
        return impact_from(row=None, health_status=system_health(system=system).status)
    return impact_from(row=(impact.status, impact.impacted_by), health_status=None)


def impact_from(*, row: tuple | None, health_status: str | None) -> Impact:
    """The impact of a system from its impact row's (status, impacted_by), or its own health without the row.

    Pure, for pages that read the columns as plain values rather than model instances.
    """
    if row is None:
        return Impact(status=health_status)
    return Impact(status=row[0], impacted_by=tuple(row[1]))


def impact_of(*, system_id) -> Impact:
    """The system's impact read afresh (after a write in this request); its own health without an impact row."""
    row = SystemImpact.objects.filter(pk=system_id).values_list("status", "impacted_by").first()
    if row is None:
        return Impact(status=SystemHealth.objects.filter(pk=system_id).values_list("status", flat=True).first())
    return Impact(status=row[0], impacted_by=tuple(row[1]))


def group_status(*, systems: Iterable[System]) -> str | None:
    """A group's status: the worst impact status of its systems (None while none of them is known)."""
    return worst_status(system_impact(system=system).status for system in systems)


def status_sections() -> list[GroupSection]:
    """The groups in position order, then the ungrouped systems (a section only if there are any); 3 queries."""
    sections = [GroupSection(group=group, systems=list(group.systems.all()),
                             status=group_status(systems=group.systems.all()))
                for group in group_list()]
    ungrouped = list(system_list().filter(group__isnull=True))
    if ungrouped:
        sections.append(GroupSection(group=None, systems=ungrouped, status=group_status(systems=ungrouped)))
    return sections


def dependency_list() -> QuerySet[Dependency]:
    """Every dependency edge with both systems joined in."""
    return Dependency.objects.select_related("system", "depends_on").order_by("system__name", "depends_on__name")


def systems_impacted() -> QuerySet[System]:
    """Systems whose impact status their dependencies made worse than their own health, by name."""
    return System.objects.filter(impact__isnull=False).exclude(impact__impacted_by=[]).order_by("name")
