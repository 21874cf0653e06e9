"""Runs in the admin: status, steps and artifacts, cancel."""

from django.contrib import admin
from django.utils.html import format_html

from ..entities.actor import user_actor
from ..models import Artifact, Run, RunStep
from ..services.runs import run_cancel
from .timeline import timeline_html


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class StepInline(_ReadOnlyInline):
    model = RunStep
    fields = ["path", "iteration", "kind", "status", "attempts", "result", "error", "started_at", "finished_at"]
    readonly_fields = fields


class ArtifactInline(_ReadOnlyInline):
    model = Artifact
    fields = ["type", "step_id", "data", "context_key", "created_at", "closed_at"]
    readonly_fields = fields


# Cells cut to these lengths (the whole text in the cell's tooltip), so Status and Reason stay on screen at
# 1,400 px whatever an automation is called or a reason says.
NAME_CELL, EVENT_CELL, REASON_CELL = 40, 32, 90


def _cut(text: str | None, length: int):
    if not text:
        return "—"
    if len(text) <= length:
        return text
    return format_html('<span title="{}">{}…</span>', text, text[:length - 1])


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    # The context key (an entity id) is on the run's page and searchable; the list keeps what tells runs apart.
    list_display = ["created_at", "automation_name", "event_name", "status", "short_reason"]
    list_filter = ["status", "automation", "event"]
    search_fields = ["=id", "=context_key", "automation__name"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    list_select_related = ["automation"]
    readonly_fields = ["timeline", "automation", "automation_version", "trigger_id", "event", "payload", "actor",
                       "run_as",
                       "context_key",
                       "status", "error", "reason", "created_at", "started_at", "finished_at", "attempts"]
    fields = readonly_fields
    inlines = [StepInline, ArtifactInline]
    actions = ["cancel_selected"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="automation", ordering="automation__name")
    def automation_name(self, run):
        return _cut(run.automation.name, NAME_CELL)

    @admin.display(description="event", ordering="event")
    def event_name(self, run):
        return _cut(run.event, EVENT_CELL)

    @admin.display(description="reason")
    def short_reason(self, run):
        return _cut(run.error or run.reason, REASON_CELL)

    @admin.display(description="Timeline")
    def timeline(self, run):
        return timeline_html(run, list(run.steps.all()), list(run.branches.all()))

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # Read-only for everyone: a run's row is the engine's (workers write its status and lease), and the
        # change form's save would write the whole row back from the page's read, undoing what a worker wrote
        # meanwhile. Its one write is the cancel action, gated by has_cancel_permission (the changelist's
        # actions need only the view permission besides).
        return False

    def has_cancel_permission(self, request):
        # docs/api.md, Permissions: cancelling needs change_automation (as in the API); view_run only shows runs.
        return request.user.has_perm("automation.change_automation")

    @admin.action(description="Cancel selected runs", permissions=["cancel"])
    def cancel_selected(self, request, queryset):
        for run in queryset:
            run_cancel(run=run, actor=user_actor(request.user))
        self.message_user(request, f"Cancelled {queryset.count()} run(s) (finished runs are left as they were).")
