"""Objectives in the admin: the form validates with services.slo_field_errors, writes go through the services."""

from django import forms
from django.contrib import admin

from automation.entities.actor import user_actor
from automation.service_admin import ServiceDeleteAdmin

from . import services
from .models import Slo
from .selectors import slo_rows


class SloAdminForm(forms.ModelForm):
    class Meta:
        model = Slo
        fields = ["system", *services.FIELDS]

    def _get_validation_exclusions(self):
        return {field.name for field in Slo._meta.fields}  # clean() is the one verdict, name clash included

    def clean(self):
        cleaned = super().clean()
        if self.errors or cleaned.get("system") is None:
            return cleaned
        for name, messages in services.slo_field_errors({n: cleaned.get(n) for n in services.FIELDS}).items():
            self.add_error(name, messages)
        clash = Slo.objects.filter(system=cleaned["system"], name=cleaned.get("name")).exclude(pk=self.instance.pk)
        if "name" not in self.errors and clash.exists():
            self.add_error("name", services.NAME_TAKEN)
        return cleaned


@admin.register(Slo)
class SloAdmin(ServiceDeleteAdmin, admin.ModelAdmin):
    form = SloAdminForm
    list_display = ["name", "system", "indicator", "target_percent", "window_days", "status", "budget_band"]
    list_filter = ["status", "indicator"]
    list_select_related = ["system"]
    search_fields = ["name", "system__name"]
    readonly_fields = ["status", "budget_band", "live_figures"]

    def get_readonly_fields(self, request, obj=None):
        # An objective stays with its system: its history is that system's.
        return [*self.readonly_fields, "system"] if obj is not None else self.readonly_fields

    @admin.display(description="Now")
    def live_figures(self, obj: Slo) -> str:
        if obj is None or obj._state.adding:
            return "—"
        row = slo_rows(slos=[obj])[0]
        sli = "no data" if row["sli_percent"] is None else f"{row['sli_percent']} %"
        return (f"SLI {sli}; budget left {row['budget_remaining_percent']} %; burn rate 1 h "
                f"{row['burn_rate_1h']}, 6 h {row['burn_rate_6h']}; {row['status']}")

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in services.FIELDS}
        actor = user_actor(request.user)
        if not change:
            saved = services.slo_create(system=form.cleaned_data["system"], actor=actor, **data)
            for field in saved._meta.concrete_fields:
                setattr(obj, field.attname, getattr(saved, field.attname))
            obj._state.adding, obj._state.db = False, saved._state.db
            return
        changed = {name: data[name] for name in form.changed_data if name in data}
        if changed:
            services.slo_update(slo=Slo.objects.get(pk=obj.pk), actor=actor, **changed)

    def delete_through_service(self, obj, *, actor):
        services.slo_delete(slo=obj, actor=actor)
