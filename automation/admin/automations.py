"""Automations in the admin: the document edited as YAML, checked by the one validator."""

from django import forms
from django.contrib import admin, messages
from django.db import transaction

from ..documents.io import dump_yaml
from ..documents.validate import validate_document
from ..entities.actor import user_actor
from ..models import Automation, AutomationVersion
from ..secrets import secret_names
from ..services.automations import automation_create, automation_delete, automation_set_enabled, automation_update
from ..services.runs import run_manual


class AutomationForm(forms.ModelForm):
    document_yaml = forms.CharField(
        label="Document (YAML)", widget=forms.Textarea(attrs={"rows": 30, "cols": 100, "class": "vLargeTextField",
                                                             "style": "font-family: monospace"}),
    )

    class Meta:
        model = Automation
        fields = ["run_as"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["document_yaml"].initial = dump_yaml(self.instance.document)

    def clean_document_yaml(self):
        result = validate_document(self.cleaned_data["document_yaml"], known_secrets=secret_names())
        if result.errors:
            raise forms.ValidationError([f"{e['path'] or '(document)'}: {e['message']}" for e in result.errors])
        name_taken = Automation.objects.filter(name=result.document["name"]).exclude(pk=self.instance.pk)
        if name_taken.exists():
            raise forms.ValidationError("name: an automation with this name already exists")
        self.document = result.document
        return self.cleaned_data["document_yaml"]


class VersionInline(admin.TabularInline):
    model = AutomationVersion
    fields = ["version", "created_by", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-version"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Automation)
class AutomationAdmin(admin.ModelAdmin):
    form = AutomationForm
    list_display = ["name", "enabled", "mode", "version", "managed_by", "run_as", "updated_at"]
    list_filter = ["enabled", "mode", "managed_by"]
    search_fields = ["name"]
    readonly_fields = ["version", "enabled", "managed_by", "created_at", "updated_at"]
    fields = ["document_yaml", "run_as", "version", "enabled", "managed_by", "created_at", "updated_at"]
    inlines = [VersionInline]
    actions = ["enable_selected", "disable_selected", "run_now"]

    def has_change_permission(self, request, obj=None):
        # GitOps owns managed automations: the admin shows them, edits happen in their repository.
        if obj is not None and obj.managed_by:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.managed_by:
            return False
        return super().has_delete_permission(request, obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        automation = self.get_object(request, object_id)
        if automation is not None and automation.managed_by:
            self.message_user(request, f"Managed by {automation.managed_by}: read-only here. Change its YAML file "
                              "and run `manage.py automations_import`.", messages.WARNING)
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        actor = user_actor(request.user)
        run_as = form.cleaned_data.get("run_as") or request.user
        with transaction.atomic():
            if change:
                saved = automation_update(automation=obj, document=form.document, actor=actor, run_as=run_as)
            else:
                saved = automation_create(document=form.document, actor=actor, run_as=run_as)
        obj.pk, obj._state.adding = saved.pk, False

    def delete_model(self, request, obj):
        automation_delete(automation=obj, actor=user_actor(request.user))

    def delete_queryset(self, request, queryset):
        for automation in queryset:
            automation_delete(automation=automation, actor=user_actor(request.user))

    def _set_enabled(self, request, queryset, enabled):
        for automation in queryset:
            automation_set_enabled(automation=automation, enabled=enabled, actor=user_actor(request.user))
        self.message_user(request, f"{queryset.count()} automation(s) {'enabled' if enabled else 'disabled'}.")

    @admin.action(description="Enable selected automations", permissions=["change"])
    def enable_selected(self, request, queryset):
        self._set_enabled(request, queryset, True)

    @admin.action(description="Disable selected automations", permissions=["change"])
    def disable_selected(self, request, queryset):
        self._set_enabled(request, queryset, False)

    @admin.action(description="Run selected automations now", permissions=["change"])
    def run_now(self, request, queryset):
        for automation in queryset:
            run = run_manual(automation=automation, actor=user_actor(request.user))
            self.message_user(request, f"Started run {run.pk} of {automation.name}.", messages.SUCCESS)
