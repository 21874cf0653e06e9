"""Demo data and the template automations, for trying Checkstack out: `manage.py checkstack_demo`.

Idempotent: what exists (by name or title) is left alone, so a second run changes nothing. Every write goes
through the domain services, so the demo's own changes are tracked and routed like any other.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from automation.automation_templates import TEMPLATES, template_render
from automation.models import Automation
from automation.services.automation_templates import automation_template_install
from catalog.models import System
from catalog.services import health_report, system_create
from incidents.models import Incident
from incidents.services import incident_create
from maintenance.models import MaintenanceWindow
from maintenance.services import maintenance_create

ACTOR = "system"
SYSTEMS = [
    ("Checkout API", "Takes orders and payments.", "healthy"),
    ("Search", "Product search.", "degraded"),
    ("Notifications", "Emails and push messages.", "healthy"),
]
INCIDENT_TITLE = "Search is slow"
WINDOW_TITLE = "Database upgrade"
# Installed disabled: it would post to a URL nobody owns until an operator sets theirs.
DISABLED_TEMPLATES = {"webhook-on-incident-change"}


@dataclass
class DemoResult:
    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def demo_install(*, editor) -> DemoResult:
    result = DemoResult()
    systems = {}
    for name, description, status in SYSTEMS:
        system = System.objects.filter(name=name).first()
        if system is None:
            system = system_create(name=name, description=description, actor=ACTOR)
            health_report(system=system, status=status, actor=ACTOR)
            result.created.append(f"system {name}")
        else:
            result.unchanged.append(f"system {name}")
        systems[name] = system
    if not Incident.objects.filter(title=INCIDENT_TITLE).exists():
        incident_create(title=INCIDENT_TITLE, severity="minor", system_ids=[systems["Search"].pk],
                        initial_message="Search responses take several seconds; we are looking into it.",
                        actor=ACTOR)
        result.created.append(f"incident {INCIDENT_TITLE}")
    else:
        result.unchanged.append(f"incident {INCIDENT_TITLE}")
    if not MaintenanceWindow.objects.filter(title=WINDOW_TITLE).exists():
        start = (timezone.now() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
        maintenance_create(title=WINDOW_TITLE, system_ids=[systems["Checkout API"].pk], start_at=start,
                           end_at=start + timedelta(hours=1), actor=ACTOR)
        result.created.append(f"maintenance {WINDOW_TITLE}")
    else:
        result.unchanged.append(f"maintenance {WINDOW_TITLE}")
    for template in TEMPLATES.values():
        name = template_render(template, template.example)["name"]
        if Automation.objects.filter(name=name).exists():
            result.unchanged.append(f"automation {name}")
            continue
        automation_template_install(template=template, parameters=template.example, editor=editor,
                                    enabled=template.id not in DISABLED_TEMPLATES)
        result.created.append(f"automation {name}")
    return result
