"""Ready-made automations: a document built from a few parameters, installed from the API, the admin or
`checkstack_demo`.

Each template is data (event and action ids are strings), so the engine still imports no domain app; what a
template renders goes through the one document validator like any other document.
"""

from dataclasses import dataclass, field
from typing import Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError


class _Parameters(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SustainedParameters(_Parameters):
    minutes: int = Field(default=5, ge=1, le=1440, description="How long degraded or unhealthy before opening.")
    cooldown_minutes: int = Field(default=10, ge=1, le=1440, description="How long healthy again before resolving.")
    severity: Literal["critical", "major", "minor"] = "major"


class FlappingParameters(_Parameters):
    count: int = Field(default=3, ge=2, le=1000, description="Times the system leaves healthy...")
    minutes: int = Field(default=30, ge=1, le=1440, description="...within this many minutes.")
    severity: Literal["critical", "major", "minor"] = "minor"


class MaintenanceNotesParameters(_Parameters):
    started_message: str = Field(default="Maintenance on this system has started.", min_length=1, max_length=2000)
    ended_message: str = Field(default="Maintenance on this system has ended.", min_length=1, max_length=2000)


class WebhookParameters(_Parameters):
    url: HttpUrl = Field(description="Receives a JSON POST for every incident change.")
    secret_header: str | None = Field(
        default=None, description="Name of a secret sent as 'Authorization: Bearer <secret>' (optional).",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


class FastBurnParameters(_Parameters):
    severity: Literal["critical", "major", "minor"] = "critical"


def _sustained(p: SustainedParameters) -> dict:
    return {
        "name": "Open an incident on sustained degradation",
        "description": f"Opens one incident per system degraded or unhealthy for {p.minutes} min; resolves it "
                       f"once the system has been healthy for {p.cooldown_minutes} min.",
        "mode": "single",
        "concurrency_scope": "context_key",
        "triggers": [{"event": "healthcheck.system_degraded", "for": {"minutes": p.minutes}}],
        "conditions": ["not health.system.in_maintenance"],
        "actions": [
            {"id": "open", "action": "incident.create", "config": {
                "title": "{{ state.system[trigger.payload.system_id].name }} is {{ trigger.payload.new_status }}",
                "severity": p.severity,
                "system_ids": ["{{ trigger.payload.system_id }}"],
                "dedupe_open_for_system": True}},
            {"wait_until": {
                "condition": f'health.system.status == "healthy" and '
                             f"health.system.in_status_for_seconds >= {p.cooldown_minutes * 60}",
                "timeout": {"hours": 24}, "continue_on_timeout": False}},
            {"action": "incident.resolve", "config": {
                "message": f"Recovered: healthy for {p.cooldown_minutes} minutes."}},
        ],
    }


def _flapping(p: FlappingParameters) -> dict:
    return {
        "name": "Open an incident when a system flaps",
        "description": f"Opens an incident when a system leaves healthy {p.count} times within {p.minutes} min.",
        "mode": "single",
        "concurrency_scope": "context_key",
        "triggers": [{
            "event": "healthcheck.system_health_changed",
            "filter": 'trigger.payload.new_status != "healthy"',
            "window": {"count": p.count, "minutes": p.minutes, "refire": "once"}}],
        "actions": [
            {"id": "open", "action": "incident.create", "config": {
                "title": "{{ state.system[trigger.payload.system_id].name }} is flapping",
                "severity": p.severity,
                "system_ids": ["{{ trigger.payload.system_id }}"],
                "dedupe_open_for_system": True}},
        ],
    }


def _maintenance_notes(p: MaintenanceNotesParameters) -> dict:
    # One run follows one window from its creation: it sees the start and the end exactly once each, which
    # a trigger on every maintenance.updated (also fired by a moved end time) could not promise.
    ended = 'event.payload.status in ["completed", "cancelled"]'
    return {
        "name": "Note maintenance on open incidents",
        "description": "Posts an update on the open incidents of a window's systems when it starts and ends.",
        "mode": "parallel",
        "max_runs": 1000,
        "concurrency_scope": "context_key",
        "triggers": [{"event": "maintenance.created", "filter": 'trigger.payload.status == "scheduled"'}],
        "actions": [
            {"wait_for_trigger": {
                "event": "maintenance.updated", "filter": 'event.payload.status != "scheduled"',
                "timeout": {"hours": 720}, "continue_on_timeout": False}},
            {"condition": 'resume.payload.status == "in_progress"'},
            {"action": "incident.add_update_on_open", "config": {
                "system_ids": "{{ resume.payload.system_ids }}", "message": p.started_message}},
            {"wait_for_trigger": {"event": "maintenance.updated", "filter": ended,
                                  "timeout": {"hours": 720}, "continue_on_timeout": False}},
            {"action": "incident.add_update_on_open", "config": {
                "system_ids": "{{ resume.payload.system_ids }}", "message": p.ended_message}},
        ],
    }


def _fast_burn(p: FastBurnParameters) -> dict:
    # One run per objective (its id is the context key): it opens the incident when the multiwindow rule says
    # the budget burns, then waits for the same objective to be ok again (exhausted in between keeps it open).
    return {
        "name": "Page on fast burn",
        "description": "Opens an incident when a service-level objective starts burning its error budget; "
                       "resolves it when the objective is ok again.",
        "mode": "single",
        "concurrency_scope": "context_key",
        "triggers": [{"event": "slo.status_changed", "filter": 'trigger.payload.new_status == "burning"'}],
        "actions": [
            {"id": "open", "action": "incident.create", "config": {
                "title": "{{ trigger.payload.name }}: the error budget is burning fast",
                "severity": p.severity,
                "system_ids": ["{{ trigger.payload.system_id }}"]}},
            {"wait_for_trigger": {
                "event": "slo.status_changed", "filter": 'event.payload.new_status == "ok"',
                "timeout": {"hours": 720}, "continue_on_timeout": False}},
            {"action": "incident.resolve", "config": {
                "message": "The error budget has stopped burning: {{ resume.payload.name }} is ok again."}},
        ],
    }


def _incident_webhook(p: WebhookParameters) -> dict:
    config = {"url": str(p.url), "method": "POST", "body": {
        "event": "{{ trigger.event }}",
        "incident_id": "{{ trigger.payload.incident_id }}",
        "title": "{{ state.incident[trigger.payload.incident_id].title }}",
        "status": "{{ trigger.payload.status }}",
        "severity": "{{ trigger.payload.severity }}",
        "system_ids": "{{ trigger.payload.system_ids }}"}}
    if p.secret_header:
        config["headers"] = {"Authorization": "Bearer {{ secret('%s') }}" % p.secret_header}
    return {
        "name": "Webhook on every incident change",
        "description": f"POSTs every incident creation, update and resolution to {p.url}.",
        "mode": "queued",
        "max_runs": 1000,
        "concurrency_scope": "context_key",  # in order per incident
        "triggers": [{"event": "incident.created"}, {"event": "incident.updated"}, {"event": "incident.resolved"}],
        "actions": [{"action": "automation.webhook", "config": config}],
    }


@dataclass(frozen=True)
class AutomationTemplate:
    id: str
    name: str
    description: str
    parameters: type[_Parameters]
    build: Callable[[_Parameters], dict]
    # Parameters for the preview shown in listings (a template with a required parameter has no default).
    example: dict = field(default_factory=dict)

    def parameters_schema(self) -> dict:
        return self.parameters.model_json_schema()


TEMPLATES = {t.id: t for t in [
    AutomationTemplate(
        id="incident-on-sustained-degradation", name="Incident on sustained degradation",
        description="Open an incident when a system is degraded or unhealthy for N minutes (one per system), "
                    "wait until it is healthy again for a cooldown, then resolve it.",
        parameters=SustainedParameters, build=_sustained),
    AutomationTemplate(
        id="incident-on-flapping", name="Incident on flapping health",
        description="Open an incident when a system's health leaves healthy K times in M minutes.",
        parameters=FlappingParameters, build=_flapping),
    AutomationTemplate(
        id="maintenance-notes-on-incidents", name="Maintenance notes on open incidents",
        description="Post an incident update on the open incidents of a maintenance window's systems when the "
                    "window starts and when it ends.",
        parameters=MaintenanceNotesParameters, build=_maintenance_notes),
    AutomationTemplate(
        id="page-on-fast-burn", name="Page on fast burn",
        description="Open a critical incident when a service-level objective starts burning its error budget "
                    "(the multiwindow burn-rate rule), resolve it when the objective is ok again.",
        parameters=FastBurnParameters, build=_fast_burn),
    AutomationTemplate(
        id="webhook-on-incident-change", name="Webhook on every incident change",
        description="POST a JSON summary to a URL on every incident creation, update and resolution.",
        parameters=WebhookParameters, build=_incident_webhook,
        example={"url": "https://hooks.example.com/checkstack"}),
]}


class TemplateParameterError(ValueError):
    """Parameters a template refuses, as DRF-shaped field errors `{name: [message]}`."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


def template_render(template: AutomationTemplate, parameters: dict | None) -> dict:
    """The template's document for these parameters (defaults fill the rest); TemplateParameterError if bad."""
    if parameters is not None and not isinstance(parameters, dict):
        raise TemplateParameterError({"parameters": ["must be an object"]})
    try:
        values = template.parameters.model_validate(parameters or {})
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "parameters"
            errors.setdefault(field, []).append(error["msg"])
        raise TemplateParameterError(errors) from None
    return template.build(values)
