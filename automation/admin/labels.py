"""Names instead of raw ids in the change-log and run lists: an entity's name, a run actor's automation.

Each list page looks its labels up in one query per kind shown (not one per row): `labels_for` is called once
per page with every (kind, id) of the page, through `LabelledChangeList`.
"""

from __future__ import annotations

from collections import defaultdict

from django.contrib.admin.views.main import ChangeList
from django.urls import reverse
from django.utils.html import format_html

from ..entities.registry import entity_kind
from ..models import Run

RUN_PREFIX = "run:"


def _label(instance, spec) -> str:
    described = spec.describe(instance)
    if described.get("title") or described.get("name"):
        return described.get("title") or described.get("name")
    # Health and impact rows are keyed by their system: name them after it.
    system = getattr(instance, "system", None)
    return str(system) if system is not None else str(instance)


def labels_for(pairs) -> dict[tuple[str, str], str]:
    """{(kind, entity id): label} of the entities still there (one query per kind)."""
    by_kind = defaultdict(set)
    for kind, entity_id in pairs:
        by_kind[kind].add(str(entity_id))
    labels = {}
    for kind, ids in by_kind.items():
        try:
            spec = entity_kind(kind)
        except LookupError:
            continue
        model = spec.model
        rows = model.objects.filter(pk__in=list(ids))
        if any(f.name == "system" for f in model._meta.fields):
            rows = rows.select_related("system")
        for instance in rows:
            labels[(kind, str(instance.pk))] = _label(instance, spec)
    return labels


def run_names(actors) -> dict[str, str]:
    """{"run:<id>": automation name} of the run actors given (one query)."""
    ids = [a[len(RUN_PREFIX):] for a in actors if a and a.startswith(RUN_PREFIX)]
    rows = Run.objects.filter(pk__in=ids).values_list("pk", "automation__name") if ids else []
    return {f"{RUN_PREFIX}{pk}": name for pk, name in rows}


class LabelledChangeList(ChangeList):
    """A change list that names its rows' entities and run actors once for the page."""

    def get_results(self, request):
        super().get_results(request)
        rows = list(self.result_list)
        labels = labels_for((row.kind, row.entity_id) for row in rows)
        runs = run_names(row.actor for row in rows)
        for row in rows:
            row.entity_label = labels.get((row.kind, str(row.entity_id)))
            row.actor_run_name = runs.get(row.actor)


def entity_cell(row):
    """The entity's name (its id in the title), or its id when it no longer exists."""
    label = getattr(row, "entity_label", None)
    if label is None:
        return format_html('<span title="{}">{} (deleted)</span>', row.entity_id, row.entity_id[:8])
    return format_html('<span title="{}">{}</span>', row.entity_id, label)


def actor_cell(row):
    """Users and `system` as they are; a run as "run of <automation>", linked to the run."""
    name = getattr(row, "actor_run_name", None)
    if name is None:
        return row.actor or "—"
    run_id = row.actor[len(RUN_PREFIX):]
    return format_html('<a href="{}" title="{}">run of {}</a>', reverse("admin:automation_run_change",
                                                                      args=[run_id]), row.actor, name)
