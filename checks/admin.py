"""Checks in the admin: the form validates with checks/validation.py, every write goes through checks/services.py."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from automation.service_admin import ServiceDeleteAdmin

from . import services
from .locations import admin as _location_admin  # noqa: F401 (registers LocationAdmin)
from .locations.admin import location_states_table
from .models import Check, CheckKind, CheckResult, Location
from .ping import ping_url
from .result_errors import masked_error, masked_errors
from .validation import CONFIG_FIELDS, check_validate

RECENT_RESULTS = 20


class CheckAdminForm(forms.ModelForm):
    # Plain text: Django's URL validator refuses single-label hosts (http://web:8080/), which checks must reach;
    # the check's own validator decides what a URL may be.
    url = forms.CharField(label="URL", required=False, max_length=None, strip=False,
                          widget=forms.TextInput(attrs={"size": 80}))
    expected_status_codes = forms.JSONField(required=False, initial=list,
                                            help_text="A JSON list, e.g. [200, 204]; empty: any 2xx.")
    headers = forms.JSONField(required=False, initial=dict, help_text=(
        'A JSON object. Credentials come from secrets: {"Authorization": "Bearer {{ secret(\'API_TOKEN\') }}"}.'))

    # Not the model's many-to-many: the services write placements (each due at once), never the form.
    location_choices = forms.ModelMultipleChoiceField(
        queryset=Location.objects.order_by("name"), required=False, label="Locations",
        help_text="Where the check runs from (remote probers); none: the central workers.")

    # Set per request by CheckAdmin.get_form: who saves (the secrets rule needs it).
    editor = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "location_choices" in self.fields:
            self.fields["location_choices"].initial = list(self.instance.placements.values_list("location_id",
                                                                                                  flat=True))

    class Meta:
        model = Check
        fields = ["system", *CONFIG_FIELDS]

    def _get_validation_exclusions(self):
        # The one validator (clean) has judged every field, the unique name included; the model's own field
        # validators would only add a second, different verdict (its URL validator refuses http://web/).
        return {field.name for field in Check._meta.fields}

    def clean(self):
        cleaned = super().clean()
        for name, empty in (("expected_status_codes", []), ("headers", {})):
            if cleaned.get(name) is None and name not in self.errors:
                cleaned[name] = empty
        if self.errors or cleaned.get("system") is None:
            return cleaned
        # A kind's form shows only its own fields: the others keep the check's values (a new check's defaults).
        values = {name: cleaned.get(name) if name in self.fields else getattr(self.instance, name)
                  for name in CONFIG_FIELDS}
        try:
            check_validate(values=values, system=cleaned["system"], editor=self.editor,
                           check=None if self.instance._state.adding else self.instance)
        except ValidationError as exc:
            for name, field_messages in exc.message_dict.items():
                self.add_error(name if name in self.fields else None, field_messages)
        return cleaned


@admin.register(Check)
class CheckAdmin(ServiceDeleteAdmin, admin.ModelAdmin):
    form = CheckAdminForm
    list_display = ["name", "system", "kind", "enabled", "last_result", "consecutive_failures"]
    list_filter = ["kind", "enabled", "last_ok", "system"]
    list_select_related = ["system"]
    search_fields = ["name", "system__name"]
    actions = ["regenerate_token"]
    readonly_fields = ["heartbeat_ping_url", "last_ping_at", "next_run_at", "last_run_at", "last_ok",
                       "shown_last_error", "consecutive_failures", "recent_results", "per_location"]
    # Adding is two steps with plain admin pages: choose the kind (add_view without ?kind=), then fill in the
    # general fields and that kind's only. A check's page shows its own kind's fields; the kind is fixed.
    general = (None, {"fields": ["system", "name", "kind", "enabled", "interval_seconds", "timeout_seconds"]})
    kind_fieldsets = {
        CheckKind.HTTP: ("HTTP", {"fields": ["url", "http_method", "expected_status_codes", "body_keyword",
                                             "headers", "tls_expiry_days", "json_assertion"]}),
        CheckKind.TCP: ("TCP", {"fields": ["host", "port"]}),
        CheckKind.PING: ("Ping", {"fields": ["host"]}),
        CheckKind.DNS: ("DNS", {"fields": ["dns_name", "dns_record_type", "dns_expected", "dns_resolver",
                                           "dns_resolver_port"]}),
        CheckKind.HEARTBEAT: ("Heartbeat", {"fields": ["heartbeat_grace_seconds", "heartbeat_ping_url",
                                                       "last_ping_at"]}),
    }
    where = ("Locations", {"fields": ["location_choices", "health_quorum"]})
    state = ("State", {"fields": ["per_location", "next_run_at", "last_run_at", "last_ok", "shown_last_error",
                                  "consecutive_failures", "recent_results"]})
    # Every field once (what Django's admin checks read); a ping shares its `host` with TCP.
    fieldsets = [general, *(fs for kind, fs in kind_fieldsets.items() if kind != CheckKind.PING), where, state]

    def chosen_kind(self, request, obj=None) -> str | None:
        """The check's kind, or the kind chosen in the add view's first step (None: not chosen yet)."""
        if obj is not None:
            return obj.kind
        kind = request.POST.get("kind") or request.GET.get("kind")
        return kind if kind in CheckKind.values else None

    def add_view(self, request, form_url="", extra_context=None):
        if self.chosen_kind(request) is None:
            return TemplateResponse(request, "admin/checks/check/choose_kind.html", {
                **self.admin_site.each_context(request), "opts": self.opts, "title": "Add check: choose its kind",
                "kinds": [(kind, label, f"?{urlencode({**request.GET.dict(), 'kind': kind})}")
                          for kind, label in CheckKind.choices]})
        return super().add_view(request, form_url, extra_context)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "kind"] if obj is not None else fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.editor = request.user
        if obj is None and "kind" in form.base_fields:  # chosen in the first step: carried, not edited
            form.base_fields["kind"].widget = forms.HiddenInput()
            form.base_fields["kind"].initial = self.chosen_kind(request)
        return form

    @admin.display(description="Last result", ordering="last_run_at")
    def last_result(self, obj: Check) -> str:
        return last_result_text(obj)

    @admin.display(description="Last error")
    def shown_last_error(self, obj: Check) -> str:
        return masked_error(obj, obj.last_error) if obj and obj.pk else ""

    @admin.display(description="Ping URL")
    def heartbeat_ping_url(self, obj: Check) -> str:
        if obj is None or obj._state.adding or obj.kind != CheckKind.HEARTBEAT:
            return "— (heartbeat checks only, once saved)"
        return ping_url(obj)

    @admin.display(description="Per location")
    def per_location(self, obj: Check):
        if obj is None or obj._state.adding:
            return "—"
        return location_states_table(obj)

    @admin.display(description="Recent results")
    def recent_results(self, obj: Check):
        if obj is None or obj._state.adding:
            return "—"
        return results_table(obj)

    def get_fieldsets(self, request, obj=None):
        kind = self.chosen_kind(request, obj)
        fieldsets = [self.general, *([self.kind_fieldsets[kind], self.where] if kind else []),
                     *([self.state] if obj is not None else [])]
        if self.has_change_permission(request, obj):
            return fieldsets
        # The ping URL is a credential (whoever holds it can report the system alive): view-only users don't see it.
        return [(title, {**options, "fields": [f for f in options["fields"] if f != "heartbeat_ping_url"]})
                for title, options in fieldsets]

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in CONFIG_FIELDS if name in form.cleaned_data}
        if "location_choices" in form.cleaned_data and (not change or "location_choices" in form.changed_data):
            data["location_ids"] = [location.pk for location in form.cleaned_data["location_choices"]]
        if not change:
            saved = services.check_create(system=form.cleaned_data["system"], editor=request.user, **data)
            # The admin links to and logs the instance it holds: make it the row the service created.
            for field in saved._meta.concrete_fields:
                setattr(obj, field.attname, getattr(saved, field.attname))
            obj._state.adding, obj._state.db = False, saved._state.db
            return
        changed = {name: data[name] for name in form.changed_data if name in data}
        if "location_ids" in data:
            changed["location_ids"] = data["location_ids"]
        system = form.cleaned_data["system"] if "system" in form.changed_data else None
        if changed or system is not None:
            services.check_update(check=obj, editor=request.user, system=system, **changed)

    def delete_through_service(self, obj, *, actor):
        services.check_delete(check=obj)  # checks are not tracked: no actor to record

    @admin.action(description="Regenerate the ping URL of selected heartbeat checks", permissions=["change"])
    def regenerate_token(self, request, queryset):
        renewed = 0
        with transaction.atomic():
            for check in queryset.filter(kind=CheckKind.HEARTBEAT).order_by("pk"):
                services.heartbeat_token_regenerate(check=check)
                renewed += 1
        skipped = queryset.exclude(kind=CheckKind.HEARTBEAT).count()
        note = f"; {skipped} not a heartbeat, left alone" if skipped else ""
        self.message_user(request, f"New ping URL for {renewed} heartbeat check(s){note}.",
                          messages.SUCCESS if renewed else messages.WARNING)


def last_result_text(check: Check) -> str:
    if check.last_ok is None:
        return "—"
    outcome = "ok" if check.last_ok else "failed"
    return f"{outcome} at {check.last_run_at:%Y-%m-%d %H:%M:%S}" if check.last_run_at else outcome


def results_table(check: Check, limit: int = RECENT_RESULTS):
    """A check's latest results as an admin table, errors masked."""
    rows = list(check.results.order_by("-at", "-id")[:limit])
    if not rows:
        return "No results yet."
    errors = masked_errors(check, [row.error for row in rows])
    body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
        (row.at.strftime("%Y-%m-%d %H:%M:%S"), "ok" if row.ok else "failed",
         "—" if row.latency_ms is None else f"{row.latency_ms} ms", error)
        for row, error in zip(rows, errors, strict=True)))
    return format_html('<table class="check-results"><thead><tr><th>At (UTC)</th><th>Result</th><th>Latency</th>'
                       '<th>Error</th></tr></thead><tbody>{}</tbody></table>', body)


def system_checks_panel(system) -> str:
    """The System admin's read-only panel: the system's checks, then their latest results (errors masked)."""
    checks = list(system.checks.order_by("name"))
    if not checks:
        return "No checks. Add one under Checks."
    summary = format_html_join("", '<tr><td><a href="{}">{}</a></td>' + "<td>{}</td>" * 4 + "</tr>", (
        (reverse("admin:checks_check_change", args=[check.pk]), check.name, check.kind,
         "yes" if check.enabled else "no", last_result_text(check), check.consecutive_failures)
        for check in checks))
    by_id = {check.pk: check for check in checks}
    rows = list(CheckResult.objects.filter(check_ref__system=system).order_by("-at", "-id")[:RECENT_RESULTS])
    masked = {}  # each check's errors masked in one go: one look-up of its secrets, not one per row
    for check_id, check in by_id.items():
        mine = [row for row in rows if row.check_ref_id == check_id]
        masked.update(zip((row.pk for row in mine), masked_errors(check, [row.error for row in mine]), strict=True))
    shown = [(row, masked[row.pk]) for row in rows]
    recent = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
        (row.at.strftime("%Y-%m-%d %H:%M:%S"), by_id[row.check_ref_id].name, "ok" if row.ok else "failed",
         "—" if row.latency_ms is None else f"{row.latency_ms} ms", error) for row, error in shown))
    return format_html(
        '<table class="system-checks"><thead><tr><th>Check</th><th>Kind</th><th>Enabled</th><th>Last result</th>'
        '<th>Consecutive failures</th></tr></thead><tbody>{}</tbody></table>'
        '<table class="check-results"><thead><tr><th>At (UTC)</th><th>Check</th><th>Result</th><th>Latency</th>'
        '<th>Error</th></tr></thead><tbody>{}</tbody></table>', summary, recent or "")

from .slos import admin as slo_admin  # noqa: E402,F401  (registers the objectives admin: autodiscovery reads this module)
