"""Demo data and the template automations, for trying Checkstack out: `manage.py checkstack_demo`.

It shows groups (sections of the status page), a dependency that explains an outage (Search is degraded
because the search index it depends on is down, though Search itself reports healthy) and a resolved incident
in the history.

Idempotent: what exists (by name or title, an edge by its two systems) is left alone, so a second run
changes nothing. Every write goes
through the domain services, so the demo's own changes are tracked and routed like any other.

The demo also checks Checkstack itself: a system whose health comes from an HTTP check of its own /healthz.
So that the status page's uptime bar and response-time chart show something at once, that check gets a
synthetic history when it is created: two days of made-up results and four weeks of made-up daily roll-ups
(their errors say so). The worker's real results follow on from there.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from automation.automation_templates import TEMPLATES, template_render
from automation.models import Automation
from automation.services.automation_templates import automation_template_install
from catalog.dependencies import dependency_create
from catalog.groups import group_create
from catalog.models import Dependency, Group, HealthSource, System
from catalog.services import health_report, system_create, system_update
from checks.buckets import buckets_rebuild
from checks.models import Check, CheckDailyRollup, CheckKind, CheckResult
from checks.rollups import rollups_refresh
from checks.services import check_create
from incidents.models import Incident
from incidents.services import incident_add_update, incident_create, incident_resolve
from maintenance.models import MaintenanceWindow
from maintenance.services import maintenance_create

ACTOR = "system"
# (name, description, position): the status page's sections, in this order.
GROUPS = [
    ("Storefront", "What shoppers use.", 0),
    ("Platform", "What the storefront runs on.", 1),
]
# (name, description, own health, group)
SYSTEMS = [
    ("Checkout API", "Takes orders and payments.", "healthy", "Storefront"),
    ("Search", "Product search.", "healthy", "Storefront"),
    ("Search index", "The index Search reads from.", "unhealthy", "Platform"),
    ("Notifications", "Emails and push messages.", "healthy", "Platform"),
]
# (system, depends on, impact): the index being down is why Search is degraded (partial: it falls back).
DEPENDENCIES = [("Search", "Search index", "partial")]
INCIDENT_TITLE = "Search is slow"
RESOLVED_TITLE = "Checkout errors"
WINDOW_TITLE = "Database upgrade"
SELF_SYSTEM = ("Checkstack", "This status page and its API.")
SELF_CHECK = "Health endpoint"
SYNTHETIC_ERROR = "demo: synthetic failure (backfilled history)"
SYNTHETIC_RESULTS = timedelta(days=2)
SYNTHETIC_RESULT_EVERY = timedelta(minutes=5)
SYNTHETIC_ROLLUP_DAYS = 28
# Installed disabled: it would post to a URL nobody owns until an operator sets theirs.
DISABLED_TEMPLATES = {"webhook-on-incident-change"}


@dataclass
class DemoResult:
    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def demo_install(*, editor) -> DemoResult:
    result = DemoResult()
    systems = _install_systems(result)
    _install_self_check(result)
    _install_resolved_incident(systems["Checkout API"], result)
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


def _install_systems(result: DemoResult) -> dict[str, System]:
    """The groups, the systems in them with their health, and the dependency between them."""
    groups = {}
    for name, description, position in GROUPS:
        group = Group.objects.filter(name=name).first()
        if group is None:
            group = group_create(name=name, description=description, position=position, actor=ACTOR)
            result.created.append(f"group {name}")
        else:
            result.unchanged.append(f"group {name}")
        groups[name] = group
    systems = {}
    for name, description, status, group in SYSTEMS:
        system = System.objects.filter(name=name).first()
        if system is None:
            system = system_create(name=name, description=description, group_id=groups[group].pk, actor=ACTOR)
            health_report(system=system, status=status, actor=ACTOR)
            result.created.append(f"system {name}")
        else:
            result.unchanged.append(f"system {name}")
        systems[name] = system
    for name, depends_on, impact in DEPENDENCIES:
        label = f"dependency {name} → {depends_on}"
        if Dependency.objects.filter(system=systems[name], depends_on=systems[depends_on]).exists():
            result.unchanged.append(label)
            continue
        dependency_create(system_id=systems[name].pk, depends_on_id=systems[depends_on].pk, impact=impact,
                          actor=ACTOR)
        result.created.append(label)
    return systems


def _install_resolved_incident(system: System, result: DemoResult) -> None:
    """An incident with a whole timeline, resolved: what the status page's history shows."""
    if Incident.objects.filter(title=RESOLVED_TITLE).exists():
        result.unchanged.append(f"incident {RESOLVED_TITLE}")
        return
    incident = incident_create(title=RESOLVED_TITLE, severity="major", system_ids=[system.pk],
                               initial_message="Some payments fail with an error; we are investigating.",
                               actor=ACTOR)
    incident_add_update(incident=incident, status_change="identified", actor=ACTOR,
                        message="An expired certificate at the payment provider's endpoint; renewing it.")
    incident_add_update(incident=incident, status_change="monitoring", actor=ACTOR,
                        message="The certificate is renewed and payments go through; we are watching.")
    incident_resolve(incident=incident, message="Payments have worked normally for an hour.", actor=ACTOR)
    result.created.append(f"incident {RESOLVED_TITLE} (resolved)")


def _install_self_check(result: DemoResult) -> None:
    """A system for Checkstack itself, its health from an HTTP check of /healthz, with a synthetic history."""
    name, description = SELF_SYSTEM
    system = System.objects.filter(name=name).first()
    if system is None:
        system = system_create(name=name, description=description, actor=ACTOR)
        system = system_update(system=system, actor=ACTOR, health_source=HealthSource.CHECKS)
        result.created.append(f"system {name}")
    else:
        result.unchanged.append(f"system {name}")
    if Check.objects.filter(system=system, name=SELF_CHECK).exists():
        result.unchanged.append(f"check {name} / {SELF_CHECK}")
        return
    check = check_create(system=system, name=SELF_CHECK, kind=CheckKind.HTTP, interval_seconds=60,
                         timeout_seconds=5, url=f"{settings.CHECKSTACK_PUBLIC_URL.rstrip('/')}/healthz")
    result.created.append(f"check {name} / {SELF_CHECK}")
    _backfill_history(check, now=timezone.now())
    result.created.append(f"synthetic history of {name} / {SELF_CHECK}")


def _synthetic_latency(n: int) -> int:
    """A made-up response time: 35-57 ms, with a 15-minute slow spell about every four hours."""
    return 35 + (n * 7) % 23 + (120 if n % 50 in (0, 1, 2) else 0)


def _backfill_history(check: Check, *, now: datetime) -> None:
    """Made-up results for the last two days (a 20-minute outage a day ago) and roll-ups for the weeks before."""
    count = int(SYNTHETIC_RESULTS / SYNTHETIC_RESULT_EVERY)
    outage = range(count // 2, count // 2 + 4)
    CheckResult.objects.bulk_create(
        CheckResult(check_ref=check, at=now - (count - n) * SYNTHETIC_RESULT_EVERY, ok=n not in outage,
                    latency_ms=None if n in outage else _synthetic_latency(n),
                    error=SYNTHETIC_ERROR if n in outage else "")
        for n in range(count))
    first_result_day = (now - SYNTHETIC_RESULTS).astimezone(UTC).date()
    days = [first_result_day - timedelta(days=n) for n in range(1, SYNTHETIC_ROLLUP_DAYS + 1)]
    CheckDailyRollup.objects.bulk_create(
        CheckDailyRollup(check_ref=check, day=day, runs=1440, failures={9: 12, 20: 45}.get(n, 0),
                         latency_p50_ms=40 + n % 6, latency_p95_ms=90 + (n * 13) % 40, latency_max_ms=400 + n)
        for n, day in enumerate(days))
    rollups_refresh(now=now)  # the days of the synthetic results, from them
    # Written in bulk, not by runs: count them in their quarter hours too (the chart's last 24 hours).
    buckets_rebuild(check_ids=[check.pk], since=now - SYNTHETIC_RESULTS, until=now + timedelta(seconds=1))
