"""Admin of maintenance windows: every write goes through the services, with the operator as actor."""

from django.contrib import admin
from django.db import transaction

from automation.admin_history import EntityHistoryMixin
from automation.entities.actor import user_actor
from automation.service_admin import PostUpdateAdmin, PostUpdateFormSet, ServiceDeleteAdmin
from catalog.admin_forms import AffectedSystemsForm

from .models import FINAL_STATUSES, MaintenanceUpdate, MaintenanceWindow
from .services import (
    maintenance_add_update,
    maintenance_close,
    maintenance_create,
    maintenance_delete,
    maintenance_update,
)

WINDOW_FIELDS = ["title", "description", "status", "start_at", "end_at", "suppress_notifications"]


class MaintenanceWindowForm(AffectedSystemsForm):
    class Meta:
        model = MaintenanceWindow
        fields = WINDOW_FIELDS


class MaintenanceUpdateHistoryInline(admin.TabularInline):
    """Posted updates, read-only: an update is a record, not something to edit later."""

    model = MaintenanceUpdate
    fields = ["created_at", "message", "status_change", "created_by"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "updates"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class MaintenanceUpdateAddInline(admin.StackedInline):
    model = MaintenanceUpdate
    formset = PostUpdateFormSet
    fields = ["message", "status_change"]
    extra = 1
    can_delete = False
    verbose_name = "new update"
    verbose_name_plural = "post an update"

    def get_queryset(self, request):
        return super().get_queryset(request).none()


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(PostUpdateAdmin, ServiceDeleteAdmin, EntityHistoryMixin, admin.ModelAdmin):
    form = MaintenanceWindowForm
    list_display = ["title", "status", "start_at", "end_at", "system_names", "suppress_notifications"]
    list_filter = ["status", "systems", "suppress_notifications"]
    search_fields = ["title", "description"]
    date_hierarchy = "start_at"
    readonly_fields = ["created_at", "updated_at", "transition_history"]
    fieldsets = [
        (None, {"fields": ["title", "description", "status", ("start_at", "end_at"), "affected_systems"]}),
        ("Notifications", {"fields": ["suppress_notifications"]}),
        ("History", {"fields": ["created_at", "updated_at", "transition_history"]}),
    ]
    inlines = [MaintenanceUpdateHistoryInline, MaintenanceUpdateAddInline]
    actions = ["close_windows"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("systems")

    @admin.display(description="Systems")
    def system_names(self, obj):
        return ", ".join(system.name for system in obj.systems.all())

    def save_model(self, request, obj, form, change):
        actor = user_actor(request.user)
        fields = {name: form.cleaned_data[name] for name in WINDOW_FIELDS}
        system_ids = [system.pk for system in form.cleaned_data["affected_systems"]]
        if change:
            maintenance_update(window=obj, actor=actor, system_ids=system_ids, **fields)
            return
        created = maintenance_create(actor=actor, system_ids=system_ids, **fields)
        # The admin keeps using `obj` (inlines, redirect): make it the saved row. (Its own pk may have been
        # cleared by the inline formsets, which drop an unsaved parent's generated key.)
        obj.pk = created.pk
        obj.refresh_from_db()
        obj._state.adding = False

    def post_update(self, parent, *, message, status_change, actor):
        return maintenance_add_update(window=parent, message=message, status_change=status_change, actor=actor)

    def delete_through_service(self, obj, *, actor):
        maintenance_delete(window=obj, actor=actor)

    @admin.action(description="Close selected windows", permissions=["change"])
    def close_windows(self, request, queryset):
        actor = user_actor(request.user)
        windows = list(queryset.order_by("pk"))
        closed = 0
        with transaction.atomic():
            for window in windows:
                if window.status not in FINAL_STATUSES:
                    maintenance_close(window=window, actor=actor)
                    closed += 1
        skipped = len(windows) - closed
        message = f"Closed {closed} window(s)."
        if skipped:
            message += f" {skipped} already completed or cancelled."
        self.message_user(request, message)
