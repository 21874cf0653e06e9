"""Admin pieces shared by every tracked model's page: its transition history."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from .models import Transition

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
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((t.at.strftime("%Y-%m-%d %H:%M:%S"), t.field, t.from_value, t.to_value, t.actor) for t in rows),
        )
        link = reverse("admin:automation_transition_changelist")
        return format_html(
            '<table class="transition-history"><thead><tr><th>At (UTC)</th><th>Field</th><th>From</th>'
            "<th>To</th><th>Actor</th></tr></thead><tbody>{}</tbody></table>"
            '<p><a href="{}?kind={}&amp;q={}">All transitions of this {}</a></p>',
            body,
            link,
            obj.entity_kind_name,
            obj.pk,
            obj.entity_kind_name,
        )
