"""Reads of maintenance windows: lists for the API and admin, and what the schedule and status page need."""

from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet

from .models import MaintenanceStatus, MaintenanceSystem, MaintenanceUpdate, MaintenanceWindow


def maintenance_list() -> QuerySet:
    """Every window, newest start first, with its system links and updates prefetched (3 queries)."""
    return MaintenanceWindow.objects.order_by("-start_at", "id").prefetch_related(
        Prefetch("system_links", queryset=MaintenanceSystem.objects.only("window_id", "system_id")),
        Prefetch("updates", queryset=MaintenanceUpdate.objects.order_by("created_at", "id")),
    )


def maintenance_system_ids(window: MaintenanceWindow) -> list[str]:
    """The window's system ids, sorted, from prefetched links when there are some."""
    return sorted(str(link.system_id) for link in window.system_links.all())


def maintenance_current() -> QuerySet:
    """Windows in progress, ending soonest first."""
    return maintenance_list().filter(status=MaintenanceStatus.IN_PROGRESS).order_by("end_at", "id")


def maintenance_upcoming() -> QuerySet:
    """Scheduled windows, starting soonest first."""
    return maintenance_list().filter(status=MaintenanceStatus.SCHEDULED).order_by("start_at", "id")


def covering_now(now: datetime) -> Q:
    """Windows covering `now`: in progress, or scheduled and already started (beat not there yet)."""
    return Q(status=MaintenanceStatus.IN_PROGRESS) | Q(
        status=MaintenanceStatus.SCHEDULED, start_at__lte=now, end_at__gt=now
    )


def systems_in_maintenance(*, now: datetime) -> set[str]:
    """Ids of the systems a window covering `now` includes."""
    windows = MaintenanceWindow.objects.filter(covering_now(now))
    return {
        str(i)
        for i in MaintenanceSystem.objects.filter(window__in=windows).values_list("system_id", flat=True).distinct()
    }


def due_window_ids(*, now: datetime) -> list:
    """Ids of open windows beat must move at `now`, oldest start first (candidates: re-checked under lock)."""
    due = Q(status=MaintenanceStatus.SCHEDULED, start_at__lte=now) | Q(
        status=MaintenanceStatus.IN_PROGRESS, end_at__lte=now
    )
    return list(
        MaintenanceWindow.objects.filter(due)
        .order_by("start_at", "id")
        .values_list("id", flat=True)
    )
