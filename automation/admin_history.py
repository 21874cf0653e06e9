"""Admin pieces shared by every tracked model's page: its transition history, with the runs each change started."""

from collections import defaultdict

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from .models import Run, Transition

HISTORY_LIMIT = 50


class EntityHistoryMixin:
    """Adds a read-only `transition_history` field: the entity's latest transitions, newest first.

    Add "transition_history" to `readonly_fields` (and to a fieldset if the admin declares fieldsets).
    """

    @admin.display(description="Transition history")
    def transition_history(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        rows = list(
            Transition.objects.filter(kind=obj.entity_kind_name, entity_id=str(obj.pk)).order_by("-at", "-id")[
                :HISTORY_LIMIT
            ]
        )
        if not rows:
            return "No transitions yet."
        runs = runs_started_by({str(t.change_id) for t in rows})
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((t.at.strftime("%Y-%m-%d %H:%M:%S"), t.field, t.from_value, t.to_value, t.actor,
              run_links(runs.get(str(t.change_id), []))) for t in rows),
        )
        link = reverse("admin:automation_transition_changelist")
        return format_html(
            '<table class="transition-history"><thead><tr><th>At (UTC)</th><th>Field</th><th>From</th>'
            "<th>To</th><th>Actor</th><th>Runs it started</th></tr></thead><tbody>{}</tbody></table>"
            '<p><a href="{}?kind={}&amp;q={}">All transitions of this {}</a></p>',
            body,
            link,
            obj.entity_kind_name,
            obj.pk,
            obj.entity_kind_name,
        )


def runs_started_by(change_ids: set[str]) -> dict[str, list[Run]]:
    """Runs (and skipped firings) whose firing was one of these changes, by change id; one query."""
    started = defaultdict(list)
    for run in Run.objects.filter(firing_key__in=change_ids).select_related("automation").order_by("created_at"):
        started[run.firing_key].append(run)
    return started


def run_links(runs: list[Run]):
    if not runs:
        return "—"
    return format_html_join(
        ", ", '<a href="{}">{} ({})</a>',
        ((reverse("admin:automation_run_change", args=[run.pk]), run.automation.name, run.status) for run in runs),
    )
