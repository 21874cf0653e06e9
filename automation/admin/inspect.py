"""Two read-only admin pages of an automation: simulate an event, and why it did (not) fire for an entity.

Both call the same services as the API (`simulate`, `simulate_change`, `why_fired`) and write nothing.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.http import Http404
from django.template.response import TemplateResponse

from ..documents.io import clean_yaml_mapping, dump_yaml
from ..engine.inspection.simulate import simulate
from ..engine.inspection.why import DEFAULT_LIMIT, MAX_LIMIT, why_fired
from ..models import ChangeEvent
from ..services.runs import simulate_change


class SimulateForm(forms.Form):
    event = forms.CharField(required=False, help_text="A trigger event id, e.g. healthcheck.system_degraded.")
    payload = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
                              help_text="The event's payload, as YAML or JSON.")
    context_key = forms.CharField(required=False)
    change_event_id = forms.UUIDField(required=False, help_text="Or: replay a stored change event instead.")

    def clean_payload(self):
        return clean_yaml_mapping(self.cleaned_data["payload"], what="the payload")

    def clean(self):
        data = super().clean()
        if not data.get("event") and not data.get("change_event_id"):
            raise ValidationError("Give an event (with its payload) or a change event id.")
        return data


class WhyForm(forms.Form):
    entity_id = forms.CharField(help_text="The entity (context key) to explain, e.g. a system or incident id. "
                                          "A system also finds the incidents and maintenance windows that list it.")
    limit = forms.IntegerField(required=False, min_value=1, max_value=MAX_LIMIT, initial=DEFAULT_LIMIT,
                               help_text="How many of the entity's latest changes to replay.")


def _automation(model_admin, request, automation_id):
    automation = model_admin.get_object(request, str(automation_id))
    if automation is None or not model_admin.has_view_permission(request, automation):
        raise Http404
    return automation


def _render(model_admin, request, automation, title, form, result):
    # A stored change may derive several trigger events, each with its traces.
    traces = [] if result is None else result.get("traces") or [
        trace for event in result.get("events", []) for trace in event.get("traces", [])]
    context = {**model_admin.admin_site.each_context(request), "title": f"{automation.name}: {title}",
               "automation": automation, "form": form, "result": result, "traces": traces,
               "result_yaml": dump_yaml(result) if result is not None else "", "opts": model_admin.model._meta}
    return TemplateResponse(request, "admin/automation/automation/inspect.html", context)


def simulate_view(model_admin, request, automation_id):
    automation = _automation(model_admin, request, automation_id)
    form = SimulateForm(request.POST if request.method == "POST" else None)
    result = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data.get("change_event_id"):
            try:
                result = simulate_change(automation, change_id=data["change_event_id"])
            except ChangeEvent.DoesNotExist:
                form.add_error("change_event_id", "No change event with this id.")
        else:
            result = simulate(automation, event=data["event"], payload=data["payload"],
                              context_key=data["context_key"] or None)
    return _render(model_admin, request, automation, "simulate", form, result)


def why_view(model_admin, request, automation_id):
    automation = _automation(model_admin, request, automation_id)
    form = WhyForm(request.GET or None)
    result = None
    if form.is_valid():
        result = why_fired(automation=automation, entity_id=form.cleaned_data["entity_id"],
                           limit=form.cleaned_data["limit"] or DEFAULT_LIMIT)
    return _render(model_admin, request, automation, "why did it (not) fire?", form, result)
