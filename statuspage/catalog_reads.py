"""What the page reads of groups and impact: the catalog's groups in position order, each system's impact.

Groups and impact statuses are the catalog's (section 10 of the SPEC); this module is the one place the
status page reads them, so the rest of the page works on plain values.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps


@dataclass(frozen=True)
class PublicGroup:
    id: str
    name: str
    description: str
    position: int


def _group_model():
    try:
        return apps.get_model("catalog", "Group")
    except LookupError:  # a catalog without groups: every system is ungrouped
        return None


def groups_ordered() -> list[PublicGroup]:
    """Every group, by position then name (one query)."""
    model = _group_model()
    if model is None:
        return []
    rows = model.objects.order_by("position", "name").values_list("pk", "name", "description", "position")
    return [PublicGroup(str(pk), name, description, position) for pk, name, description, position in rows]


def system_group_id(system) -> str | None:
    group_id = getattr(system, "group_id", None)
    return None if group_id is None else str(group_id)


def system_impact(system, own_status: str | None) -> tuple[str | None, list[str]]:
    """The system's impact status and the ids of the systems that made it worse; its own health without any."""
    impact = getattr(system, "impact", None)
    if impact is None or getattr(impact, "status", None) is None:
        return own_status, []
    return impact.status, [str(i) for i in (impact.impacted_by or [])]
