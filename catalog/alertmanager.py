"""Prometheus Alertmanager alerts as system health (docs/checks.md, "Alertmanager").

An alert names its system with the label `checkstack_system`: the system's id, or else its exact name. Per
system, the alerts of one webhook payload decide: any firing alert makes it `unhealthy` (`degraded` when every
firing one has `severity` warning or info); only resolved ones make it `healthy`. The message is the alerts'
`summary` annotation, or `description`, or the `alertname` label. A system whose health comes from checks is
reported back as a conflict, an unknown one as unknown; neither stops the others from being applied.
"""

import uuid
from dataclasses import dataclass, field

from .models import MAX_HEALTH_MESSAGE, HealthSource, HealthStatus, System
from .services import HealthSourceConflict, health_report

SYSTEM_LABEL = "checkstack_system"
MILD_SEVERITIES = frozenset({"warning", "info"})
MAX_MESSAGE = MAX_HEALTH_MESSAGE
FIRING, RESOLVED = "firing", "resolved"


@dataclass(frozen=True)
class AlertHealth:
    """The health one payload's alerts give one system."""

    status: str
    message: str


@dataclass
class AlertmanagerOutcome:
    updated: list[dict] = field(default_factory=list)  # {system, name, status}
    conflicts: list[dict] = field(default_factory=list)  # {system, name, health_source}
    unknown: list[str] = field(default_factory=list)  # label values that name no system
    ignored: int = 0  # alerts without the label

    @property
    def complete(self) -> bool:
        return not self.conflicts and not self.unknown


def _alert_text(alert: dict) -> str:
    annotations, labels = alert.get("annotations") or {}, alert.get("labels") or {}
    return annotations.get("summary") or annotations.get("description") or labels.get("alertname") or ""


def _joined(texts: list[str]) -> str:
    message = "; ".join(dict.fromkeys(text for text in texts if text))
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"


def alerts_health(alerts: list[dict]) -> dict[str, AlertHealth]:
    """{label value: health} for the alerts that carry the system label (pure; the payload's order kept)."""
    grouped: dict[str, list[dict]] = {}
    for alert in alerts:
        label = (alert.get("labels") or {}).get(SYSTEM_LABEL)
        if label:
            grouped.setdefault(label, []).append(alert)
    health = {}
    for label, group in grouped.items():
        firing = [alert for alert in group if alert["status"] == FIRING]
        if not firing:
            health[label] = AlertHealth(HealthStatus.HEALTHY, _joined(
                [f"Resolved: {text}" if text else "" for text in map(_alert_text, group)]))
            continue
        severe = [a for a in firing if (a.get("labels") or {}).get("severity", "").lower() not in MILD_SEVERITIES]
        status = HealthStatus.UNHEALTHY if severe else HealthStatus.DEGRADED
        health[label] = AlertHealth(status, _joined([_alert_text(alert) for alert in (severe or firing)]))
    return health


def _find_system(label: str) -> System | None:
    """The system a label names: by id when it is one, else by exact name."""
    try:
        system = System.objects.filter(pk=uuid.UUID(label)).first()
    except ValueError:
        system = None
    return system or System.objects.filter(name=label).first()


def alertmanager_apply(*, alerts: list[dict], actor: str) -> AlertmanagerOutcome:
    """Report the health the alerts give each system they name. The caller owns the transaction."""
    outcome = AlertmanagerOutcome(ignored=sum(1 for a in alerts if not (a.get("labels") or {}).get(SYSTEM_LABEL)))
    found = []
    for label, health in alerts_health(alerts).items():
        system = _find_system(label)
        if system is None:
            outcome.unknown.append(label)
        else:
            found.append((system, health))
    # One lock order for every payload (system id), so two concurrent deliveries cannot deadlock.
    for system, health in sorted(found, key=lambda pair: str(pair[0].pk)):
        try:
            health_report(system=system, status=health.status, message=health.message, actor=actor,
                          source=HealthSource.REPORTED)
        except HealthSourceConflict as conflict:
            outcome.conflicts.append({"system": str(system.pk), "name": system.name,
                                      "health_source": conflict.source})
        except System.DoesNotExist:  # deleted since it was looked up
            outcome.unknown.append(system.name)
        else:
            outcome.updated.append({"system": str(system.pk), "name": system.name, "status": health.status})
    return outcome
