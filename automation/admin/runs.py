"""Runs in the admin: status, steps and artifacts, cancel."""

from django.contrib import admin

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


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ["created_at", "automation", "event", "context_key", "status", "reason"]
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
