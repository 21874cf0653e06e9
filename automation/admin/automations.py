"""Automations in the admin: the document edited as YAML, checked by the one validator."""

import difflib
from functools import partial

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

from ..documents.io import dump_yaml
from ..entities.actor import user_actor
from ..models import Automation, AutomationTrigger, AutomationVersion
from ..services.automation_save import DocumentInvalid, automation_check, automation_save
from ..services.automations import automation_delete, automation_set_enabled
from ..services.runs import automation_run_now
from .inspect import simulate_view, why_view
from .templates_install import install_view


class AutomationForm(forms.ModelForm):
    editor = None  # the requesting user, set by AutomationAdmin.get_form
    document_yaml = forms.CharField(
        label="Document (YAML)", widget=forms.Textarea(attrs={"rows": 30, "cols": 100, "class": "vLargeTextField",
                                                             "style": "font-family: monospace"}),
    )

    class Meta:
        model = Automation
        fields = ["run_as"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:
            self.fields["document_yaml"].initial = dump_yaml(self.instance.document)

    def clean(self):
        """The one door's checks (automation_save), shown as form errors before anything is saved."""
        cleaned = super().clean()
        if "document_yaml" not in cleaned:
            return cleaned
        existing = None if self.instance._state.adding else self.instance
        try:
            automation_check(document=cleaned["document_yaml"], editor=self.editor, run_as=cleaned.get("run_as"),
                             automation=existing)
        except DocumentInvalid as exc:
            self.add_error("document_yaml", [f"{e['path'] or '(document)'}: {e['message']}" for e in exc.errors])
        except PermissionDenied as exc:
            raise forms.ValidationError(str(exc)) from exc
        return cleaned


class ReadOnlyInline(admin.TabularInline):
    """Rows the automation's own service writes: shown, never added or deleted here."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class VersionInline(ReadOnlyInline):
    model = AutomationVersion
    fields = ["version", "created_by", "created_at", "compare"]
    readonly_fields = fields
    ordering = ["-version"]

    @admin.display(description="Changes")
    def compare(self, version):
        if version.version <= 1:
            return "—"
        url = reverse("admin:automation_automation_diff", args=[version.automation_id])
        return format_html('<a href="{}?from={}&amp;to={}">compare with v{}</a>', url, version.version - 1,
                           version.version, version.version - 1)


class TriggerIndexInline(ReadOnlyInline):
    """Each trigger's Stage 1 index key and its filter's error count: a filter that errors writes no run."""

    model = AutomationTrigger
    verbose_name_plural = "Triggers (routing index and filter errors)"
    fields = ["trigger_id", "event", "index_key", "filter_errors", "last_filter_error", "last_filter_error_at"]
    readonly_fields = fields
    ordering = ["trigger_id"]


class RunAsActiveFilter(admin.SimpleListFilter):
    title = "run_as user"
    parameter_name = "run_as_active"

    def lookups(self, request, model_admin):
        return [("no", "inactive (its runs fail)"), ("yes", "active")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(run_as__is_active=False)
        if self.value() == "yes":
            return queryset.filter(run_as__is_active=True)
        return queryset


@admin.register(Automation)
class AutomationAdmin(admin.ModelAdmin):
    change_list_template = "admin/automation/automation/change_list.html"  # adds "Install a template"
    change_form_template = "admin/automation/automation/change_form.html"  # adds "Simulate" and "Why?"
    form = AutomationForm
    list_display = ["name", "enabled", "mode", "version", "managed_by", "run_as", "updated_at"]
    list_filter = ["enabled", "mode", "managed_by", RunAsActiveFilter]
    search_fields = ["name"]
    readonly_fields = ["version", "enabled", "managed_by", "created_at", "updated_at"]
    fields = ["document_yaml", "run_as", "version", "enabled", "managed_by", "created_at", "updated_at"]
    inlines = [TriggerIndexInline, VersionInline]
    actions = ["enable_selected", "disable_selected", "run_now"]

    def get_urls(self):
        diff = path("<uuid:automation_id>/diff/", self.admin_site.admin_view(self.diff_view),
                    name="automation_automation_diff")
        install = path("install-template/", self.admin_site.admin_view(partial(install_view, self)),
                       name="automation_automation_install_template")
        simulate = path("<uuid:automation_id>/simulate/", self.admin_site.admin_view(partial(simulate_view, self)),
                        name="automation_automation_simulate")
        why = path("<uuid:automation_id>/why/", self.admin_site.admin_view(partial(why_view, self)),
                   name="automation_automation_why")
        return [diff, install, simulate, why, *super().get_urls()]

    def diff_view(self, request, automation_id):
        """Two versions of a document side by side (`?from=1&to=2`)."""
        automation = self.get_object(request, str(automation_id))
        if automation is None or not self.has_view_permission(request, automation):
            raise Http404
        versions = {v.version: v for v in automation.versions.all()}
        try:
            old, new = versions[int(request.GET.get("from", 0))], versions[int(request.GET.get("to", 0))]
        except (KeyError, ValueError):
            raise Http404("no such versions") from None
        context = {**self.admin_site.each_context(request), "title": f"{automation.name}: v{old.version} → "
                   f"v{new.version}", "diff_table": version_diff_table(old, new), "automation": automation,
                   "opts": self.model._meta}
        return TemplateResponse(request, "admin/automation/automation/diff.html", context)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.editor = request.user
        return form

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
        saved = automation_save(document=form.cleaned_data["document_yaml"], editor=request.user,
                                automation=obj if change else None, run_as=form.cleaned_data.get("run_as"))
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
            try:
                run = automation_run_now(automation=automation, user=request.user)
            except (PermissionDenied, ValidationError) as exc:  # this one is refused; the others still start
                text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
                self.message_user(request, f"{automation.name} not started: {text}", messages.ERROR)
                continue
            self.message_user(request, f"Started run {run.pk} of {automation.name}.", messages.SUCCESS)


def version_diff_table(old: AutomationVersion, new: AutomationVersion) -> str:
    """Two versions' documents side by side as an HTML table, every user-written text escaped."""
    # HtmlDiff escapes the lines it compares (&, <, >; they are only ever text between tags), but writes
    # the column headers as given: the authors (an actor string, any text) are escaped here.
    table = difflib.HtmlDiff(wrapcolumn=80).make_table(
        dump_yaml(old.document).splitlines(), dump_yaml(new.document).splitlines(),
        escape(f"version {old.version} ({old.created_by})"), escape(f"version {new.version} ({new.created_by})"),
    )
    return mark_safe(table)  # built above from escaped text only
