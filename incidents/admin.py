"""Incident admin: every save, inline update, action and delete goes through the incident services."""

from django import forms
from django.contrib import admin
from django.db import transaction

from automation.admin_history import EntityHistoryMixin
from automation.entities.actor import user_actor
from automation.service_admin import PostUpdateAdmin, PostUpdateFormSet, ServiceDeleteAdmin
from catalog.admin_forms import AffectedSystemsForm

from .models import Incident, IncidentStatus, IncidentUpdate
from .services import incident_add_update, incident_create, incident_delete, incident_resolve, incident_update

# Form fields that map one-to-one onto incident_update() arguments.
DIRECT_FIELDS = ("title", "description", "status", "severity", "suppress_notifications")
ADD_FIELDS = ["title", "description", "severity", "affected_systems", "suppress_notifications", "initial_message"]
CHANGE_FIELDS = ["title", "description", "status", "severity", "affected_systems", "suppress_notifications"]


class IncidentChangeForm(AffectedSystemsForm):
    class Meta:
        model = Incident
        fields = ["title", "description", "status", "severity", "suppress_notifications"]


class IncidentAddForm(IncidentChangeForm):
    initial_message = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="Posted as the first update."
    )

    class Meta(IncidentChangeForm.Meta):
        fields = ["title", "description", "severity", "suppress_notifications"]


class IncidentUpdateInline(admin.TabularInline):
    """The timeline: existing updates are read-only; a new row is posted through incident_add_update."""

    model = IncidentUpdate
    fields = ["message", "status_change", "created_by", "created_at"]
    readonly_fields = ["created_by", "created_at"]
    extra = 1
    can_delete = False
    verbose_name = "update"
    verbose_name_plural = "Timeline"
    formset = PostUpdateFormSet

    # Rights follow the incident's: posting an update is changing the incident.
    def has_add_permission(self, request, obj=None):
        return request.user.has_perm("incidents.change_incident")

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("incidents.view_incident") or request.user.has_perm(
            "incidents.change_incident"
        )

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Incident)
class IncidentAdmin(PostUpdateAdmin, ServiceDeleteAdmin, EntityHistoryMixin, admin.ModelAdmin):
    list_display = [
        "title", "status", "severity", "system_names", "suppress_notifications", "created_at", "resolved_at"
    ]
    list_filter = ["status", "severity", "systems"]
    search_fields = ["title", "description"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at", "updated_at", "resolved_at", "transition_history"]
    actions = ["resolve_selected"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("systems")

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ADD_FIELDS})]
        return [
            (None, {"fields": CHANGE_FIELDS}),
            ("Times", {"fields": ["created_at", "updated_at", "resolved_at"]}),
            ("History", {"fields": ["transition_history"]}),
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = IncidentAddForm if obj is None else IncidentChangeForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_inlines(self, request, obj):
        return [IncidentUpdateInline] if obj is not None else []

    @admin.display(description="Systems")
    def system_names(self, incident):
        return ", ".join(system.name for system in incident.systems.all()) or "—"

    def save_model(self, request, obj, form, change):
        actor = user_actor(request.user)
        data = form.cleaned_data
        system_ids = [system.pk for system in data.get("affected_systems") or []]
        if not change:
            saved = incident_create(
                title=data["title"],
                description=data.get("description", ""),
                severity=data["severity"],
                system_ids=system_ids,
                initial_message=data.get("initial_message") or None,
                suppress_notifications=data.get("suppress_notifications", False),
                actor=actor,
            )
        else:
            fields = {name: data[name] for name in form.changed_data if name in DIRECT_FIELDS}
            if "affected_systems" in form.changed_data:
                fields["system_ids"] = system_ids
            saved = incident_update(incident=obj, actor=actor, **fields)
        # The admin goes on with `obj` (inlines, log entry, redirect): make it the row the service wrote.
        for field in Incident._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False
        obj._state.db = saved._state.db

    def save_related(self, request, form, formsets, change):
        # No form.save_m2m(): systems were written by the service in save_model.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def post_update(self, parent, *, message, status_change, actor):
        return incident_add_update(incident=parent, message=message, status_change=status_change, actor=actor)

    def delete_through_service(self, obj, *, actor):
        incident_delete(incident=obj, actor=actor)

    @admin.action(description="Resolve selected incidents", permissions=["change"])
    def resolve_selected(self, request, queryset):
        actor = user_actor(request.user)
        resolved = 0
        with transaction.atomic():
            for incident in queryset.order_by("pk"):
                if incident.status != IncidentStatus.RESOLVED:
                    incident_resolve(incident=incident, actor=actor)
                    resolved += 1
        self.message_user(request, f"Resolved {resolved} incident(s).")
