"""Systems in the admin: health reported from the system's page, every write through the catalog services."""

from django import forms
from django.contrib import admin

from automation.admin_history import EntityHistoryMixin
from automation.entities.actor import user_actor
from automation.service_admin import ServiceDeleteAdmin

from . import services
from .admin_graph import dependencies_panel, impact_panel  # also registers the group and dependency admins
from .admin_panels import system_panels
from .models import MAX_HEALTH_MESSAGE, MAX_LATENCY_MS, HealthSource, HealthStatus, System, SystemHealth
from .selectors import system_health, system_impact

SYSTEM_FIELDS = ("name", "description", "metadata", "group")
POLICY_FIELDS = ("health_source", "health_failure_threshold", "health_degraded_latency_ms", "health_quorum")
HEALTH_FIELDS = ("health_status", "health_message", "health_latency_ms")
NOT_REPORTED = "none"


class SystemAdminForm(forms.ModelForm):
    """The system's fields plus its health; a health change is saved as a health report."""

    health_status = forms.ChoiceField(
        label="Status", choices=[("", "Not reported"), *HealthStatus.choices], required=False
    )
    health_message = forms.CharField(label="Message", widget=forms.Textarea(attrs={"rows": 2}), required=False,
                                     max_length=MAX_HEALTH_MESSAGE)
    health_latency_ms = forms.IntegerField(label="Latency (ms)", min_value=0, max_value=MAX_LATENCY_MS, required=False)

    # Set per request by SystemAdmin.get_form: reporting health needs catalog.change_systemhealth.
    can_report_health = False

    class Meta:
        model = System
        fields = [*SYSTEM_FIELDS, *POLICY_FIELDS]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:
            health = system_health(system=self.instance)
            self.initial.update(
                health_status=health.status or "",
                health_message=health.message,
                health_latency_ms=health.latency_ms,
            )
        for name in HEALTH_FIELDS:
            self.fields[name].disabled = not self.can_report_health

    @property
    def health_changed(self) -> bool:
        return any(name in self.changed_data for name in HEALTH_FIELDS)

    def clean(self):
        cleaned = super().clean()
        if self.health_changed and not cleaned.get("health_status"):
            # Health is reported, never withdrawn: there is no "unknown" to go back to.
            self.add_error("health_status", "Choose a status to report health.")
        policy = {name: cleaned[name] for name in POLICY_FIELDS if name in cleaned}
        for name, field_messages in services.health_policy_errors(policy).items():
            self.add_error(name, field_messages)
        if self.health_changed and cleaned.get("health_source") == HealthSource.CHECKS:
            # The service would refuse the report (HealthSourceConflict): say so here, before anything is saved.
            self.add_error("health_status", "This system's health comes from its checks, so it cannot be set "
                                            "here. Set the health source to 'reported' to set it by hand.")
        return cleaned


class HealthStatusFilter(admin.SimpleListFilter):
    title = "health status"
    parameter_name = "health"

    def lookups(self, request, model_admin):
        return [*HealthStatus.choices, (NOT_REPORTED, "Not reported")]

    def queryset(self, request, queryset):
        if self.value() == NOT_REPORTED:
            return queryset.filter(health__isnull=True)
        if self.value() in HealthStatus.values:
            return queryset.filter(health__status=self.value())
        return queryset


class ImpactedFilter(admin.SimpleListFilter):
    title = "impacted by dependencies"
    parameter_name = "impacted"

    def lookups(self, request, model_admin):
        return [("yes", "Made worse by a dependency"), ("no", "Not impacted")]

    def queryset(self, request, queryset):
        # impacted_by is a JSON list: empty exactly when the system's own health decides.
        impacted = System.objects.filter(impact__isnull=False).exclude(impact__impacted_by=[]).values("pk")
        if self.value() == "yes":
            return queryset.filter(pk__in=impacted)
        if self.value() == "no":
            return queryset.exclude(pk__in=impacted)
        return queryset


def _adopt(target: System, saved: System) -> None:
    """Make the admin's unsaved instance the row the service created (the admin links to its pk)."""
    for field in saved._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target._state.adding = False
    target._state.db = saved._state.db


@admin.register(System)
class SystemAdmin(ServiceDeleteAdmin, EntityHistoryMixin, admin.ModelAdmin):
    form = SystemAdminForm
    list_display = ["name", "group", "health_status", "impact_status", "health_source", "health_updated_at"]
    list_select_related = ["health", "impact", "group"]
    list_filter = [HealthStatusFilter, ImpactedFilter, "group", "health_source"]
    search_fields = ["name"]
    # Not "impact" / "dependencies": those are the system's related names, which the admin would show instead.
    readonly_fields = ["health_updated_at", "impact_summary", "dependency_panel", "transition_history",
                       "health_history", "checks_panel"]
    fieldsets = [
        (None, {"fields": list(SYSTEM_FIELDS)}),
        ("Health", {"fields": [*HEALTH_FIELDS, "health_updated_at"]}),
        ("Dependencies and impact", {"fields": ["impact_summary", "dependency_panel"], "description": (
            "Impact: the health as what this system depends on makes it (a full dependency passes its trouble "
            "on, a partial one at most 'degraded').")}),
        ("Health policy", {"fields": list(POLICY_FIELDS), "description": (
            "Where health comes from: 'reported' (API, this page, Alertmanager) or 'checks' (this system's checks, "
            "by the rule below). While checks manage it, reports are refused (the API answers 409).")}),
        ("Checks", {"fields": ["checks_panel"]}),
        ("History", {"fields": ["transition_history", "health_history"], "classes": ["collapse"]}),
    ]

    @admin.display(description="Health", ordering="health__status")
    def health_status(self, obj: System) -> str:
        return system_health(system=obj).status or "—"

    @admin.display(description="Impact", ordering="impact__status")
    def impact_status(self, obj: System) -> str:
        impact = system_impact(system=obj)
        if impact.impacted_by:
            return f"{impact.status} (dependencies)"
        return impact.status or "—"

    @admin.display(description="Impact")
    def impact_summary(self, obj: System):
        if obj is None or obj._state.adding:
            return "—"
        return impact_panel(obj)

    @admin.display(description="Dependencies")
    def dependency_panel(self, obj: System):
        if obj is None or obj._state.adding:
            return "—"
        return dependencies_panel(obj)

    @admin.display(description="Health updated", ordering="health__updated_at")
    def health_updated_at(self, obj: System):
        if obj is None or obj._state.adding:
            return "—"
        return system_health(system=obj).updated_at or "—"

    @admin.display(description="Health history")
    def health_history(self, obj: System):
        if obj is None or obj._state.adding:
            return "—"
        # Health transitions are keyed by the system's id, reported or not.
        return self.transition_history(SystemHealth(system_id=obj.pk))

    @admin.display(description="Checks and recent results")
    def checks_panel(self, obj: System):
        if obj is None or obj._state.adding:
            return "—"
        return system_panels(obj)  # checks registers its panel: it builds on catalog, not the other way round

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.can_report_health = request.user.has_perm("catalog.change_systemhealth")
        return form

    def save_model(self, request, obj, form, change):
        actor = user_actor(request.user)
        # Only the fields the operator changed: a concurrent edit of another field is kept.
        changed = {name: form.cleaned_data[name] for name in SYSTEM_FIELDS if name in form.changed_data}
        if "group" in changed:  # the services take the group's id
            group = changed.pop("group")
            changed["group_id"] = None if group is None else group.pk
        policy = {name: form.cleaned_data[name] for name in POLICY_FIELDS if name in form.changed_data}
        if not change:
            _adopt(obj, services.system_create(**changed, actor=actor))
            changed = {}
        if changed or policy:
            services.system_update(system=obj, **changed, **policy, actor=actor)
        if form.health_changed:
            services.health_report(
                system=obj,
                status=form.cleaned_data["health_status"],
                message=form.cleaned_data["health_message"],
                latency_ms=form.cleaned_data["health_latency_ms"],
                actor=actor,
            )

    def delete_through_service(self, obj, *, actor):
        services.system_delete(system=obj, actor=actor)

