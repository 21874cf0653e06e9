"""The figures on the admin's index page: the state of things, each with a link to the rows it counts.

One entry of FIGURES per figure: the permission that lets a user see it and the function computing it.
Each function issues one or two queries, so the page costs a fixed number whatever the tables hold.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.db.models import Count, Min
from django.urls import reverse
from django.utils import timezone

from automation.models import ChangeEvent, Run, Timer
from automation.models.runs import RunStatus
from catalog.models import HealthStatus
from catalog.selectors import systems_impacted, systems_with_health_status
from incidents.models import IncidentStatus
from incidents.selectors import incidents_open
from maintenance.models import MaintenanceStatus
from maintenance.selectors import maintenance_current, maintenance_upcoming

FAILED_RUNS_PERIOD = timedelta(hours=24)


@dataclass(frozen=True)
class Figure:
    """One number (or short text) on the dashboard and the changelist listing the rows behind it."""

    key: str
    label: str
    value: str
    url: str
    count: int  # rows the linked changelist shows
    detail: str = ""
    attention: bool = False  # drawn as something to act on


def _changelist(model_label: str, **filters) -> str:
    url = reverse(f"admin:{model_label.replace('.', '_')}_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


def _age(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def _systems_with(status: str, label: str) -> Callable[[datetime], Figure]:
    def figure(now: datetime) -> Figure:
        count = systems_with_health_status(statuses=[status]).count()
        # The system changelist's own health filter (`?health=`) selects exactly these rows.
        return Figure(key=f"systems_{status}", label=label, value=str(count), count=count,
                      url=_changelist("catalog.system", health=status), attention=count > 0)

    return figure


IMPACTED_NAMES_SHOWN = 5


def systems_impacted_figure(now: datetime) -> Figure:
    impacted = systems_impacted()
    count = impacted.count()
    names = list(impacted.values_list("name", flat=True)[:IMPACTED_NAMES_SHOWN])
    detail = ", ".join(names) + (f" and {count - len(names)} more" if count > len(names) else "")
    # The system changelist's own filter (`?impacted=yes`) selects exactly these rows.
    return Figure(key="systems_impacted", label="Systems impacted by dependencies", value=str(count), count=count,
                  detail=detail, url=_changelist("catalog.system", impacted="yes"), attention=count > 0)


def incidents_open_figure(now: datetime) -> Figure:
    count = incidents_open().count()
    open_statuses = ",".join(s for s in IncidentStatus.values if s != IncidentStatus.RESOLVED)
    return Figure(key="incidents_open", label="Open incidents", value=str(count), count=count,
                  url=_changelist("incidents.incident", status__in=open_statuses), attention=count > 0)


def maintenance_in_progress_figure(now: datetime) -> Figure:
    count = maintenance_current().count()
    return Figure(key="maintenance_in_progress", label="Maintenance in progress", value=str(count), count=count,
                  url=_changelist("maintenance.maintenancewindow", status__exact=MaintenanceStatus.IN_PROGRESS))


def maintenance_next_figure(now: datetime) -> Figure:
    upcoming = maintenance_upcoming().prefetch_related(None)
    count = upcoming.count()
    first = upcoming.values("title", "start_at").first()
    detail = f"next: {first['title']}, starts {first['start_at']:%Y-%m-%d %H:%M} UTC" if first else "none planned"
    return Figure(key="maintenance_scheduled", label="Maintenance scheduled", value=str(count), count=count,
                  detail=detail,
                  url=_changelist("maintenance.maintenancewindow", status__exact=MaintenanceStatus.SCHEDULED))


def runs_failed_figure(now: datetime) -> Figure:
    since = now - FAILED_RUNS_PERIOD
    count = Run.objects.filter(status=RunStatus.FAILED, finished_at__gte=since).count()
    return Figure(key="runs_failed", label="Runs failed, last 24 h", value=str(count), count=count,
                  url=_changelist("automation.run", status__exact=RunStatus.FAILED,
                                  finished_at__gte=since.isoformat()), attention=count > 0)


def routing_lag_figure(now: datetime) -> Figure:
    # Parked changes wait for an operator, not for the workers: they are their own figure.
    pending = ChangeEvent.objects.filter(routed_at=None, parked_at=None).aggregate(n=Count("id"),
                                                                                   oldest=Min("occurred_at"))
    count, oldest = pending["n"], pending["oldest"]
    lag = (now - oldest).total_seconds() if oldest else 0.0
    return Figure(key="routing_lag", label="Routing lag", value=_age(max(lag, 0)) if oldest else "none",
                  count=count, detail=f"{count} change{'s' if count != 1 else ''} not routed yet",
                  url=_changelist("automation.changeevent", routed_at__isnull="True", parked="no"),
                  attention=lag > 60)


def parked_changes_figure(now: datetime) -> Figure:
    count = ChangeEvent.objects.filter(routed_at=None).exclude(parked_at=None).count()
    return Figure(key="changes_parked", label="Parked changes", value=str(count), count=count,
                  detail="routing kept failing; replay once fixed" if count else "",
                  url=_changelist("automation.changeevent", parked="yes"), attention=count > 0)


def timers_overdue_figure(now: datetime) -> Figure:
    due = Timer.objects.filter(fired_at=None, due_at__lte=now).aggregate(n=Count("id"), oldest=Min("due_at"))
    count, oldest = due["n"], due["oldest"]
    detail = f"most overdue by {_age((now - oldest).total_seconds())}" if oldest else ""
    return Figure(key="timers_overdue", label="Overdue timers", value=str(count), count=count, detail=detail,
                  url=_changelist("automation.timer", fired_at__isnull="True", due_at__lte=now.isoformat()),
                  attention=count > 0)


# (permission needed to see it, figure); the page shows them in this order.
FIGURES: tuple[tuple[str, Callable[[datetime], Figure]], ...] = (
    ("catalog.view_system", _systems_with(HealthStatus.UNHEALTHY, "Systems unhealthy")),
    ("catalog.view_system", _systems_with(HealthStatus.DEGRADED, "Systems degraded")),
    ("catalog.view_system", systems_impacted_figure),
    ("incidents.view_incident", incidents_open_figure),
    ("maintenance.view_maintenancewindow", maintenance_in_progress_figure),
    ("maintenance.view_maintenancewindow", maintenance_next_figure),
    ("automation.view_run", runs_failed_figure),
    ("automation.view_changeevent", routing_lag_figure),
    ("automation.view_changeevent", parked_changes_figure),
    ("automation.view_timer", timers_overdue_figure),
)


def dashboard_figures(*, user, now: datetime | None = None) -> list[Figure]:
    """The figures this user may see, computed at `now`."""
    now = now or timezone.now()
    return [figure(now) for permission, figure in FIGURES if user.has_perm(permission)]
