"""/metrics in Prometheus text format, for staff users or clients on CHECKSTACK_METRICS_ALLOWLIST."""

import ipaddress

from django.conf import settings
from django.db.models import Count, Min
from django.http import HttpResponse, HttpResponseForbidden
from django.utils import timezone

from automation.entities.parking import parked_count
from automation.models import ChangeEvent, Run, Timer


def _allowed(request) -> bool:
    if request.user.is_authenticated and request.user.is_staff:
        return True
    try:
        client = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(client in ipaddress.ip_network(entry, strict=False) for entry in settings.CHECKSTACK_METRICS_ALLOWLIST)


def _lines():
    now = timezone.now()
    routed = ChangeEvent.objects.filter(routed_at__isnull=False).count()
    # Parked changes wait for an operator, not for the workers: their own gauge, out of the lag.
    pending = ChangeEvent.objects.filter(routed_at=None, parked_at=None)
    oldest = pending.aggregate(m=Min("occurred_at"))["m"]
    yield "# HELP checkstack_change_events_routed_total Change events routed."
    yield "# TYPE checkstack_change_events_routed_total counter"
    yield f"checkstack_change_events_routed_total {routed}"
    yield "# HELP checkstack_change_events_pending Change events committed but not routed yet."
    yield "# TYPE checkstack_change_events_pending gauge"
    yield f"checkstack_change_events_pending {pending.count()}"
    yield "# HELP checkstack_changes_parked Change events whose routing kept failing, parked for a replay."
    yield "# TYPE checkstack_changes_parked gauge"
    yield f"checkstack_changes_parked {parked_count()}"
    yield "# HELP checkstack_routing_lag_seconds Age of the oldest unrouted change event."
    yield "# TYPE checkstack_routing_lag_seconds gauge"
    yield f"checkstack_routing_lag_seconds {(now - oldest).total_seconds() if oldest else 0:.3f}"
    yield "# HELP checkstack_runs Runs by status."
    yield "# TYPE checkstack_runs gauge"
    counts = dict(Run.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    for status in ("pending", "running", "waiting", "succeeded", "failed", "cancelled", "skipped"):
        yield f'checkstack_runs{{status="{status}"}} {counts.get(status, 0)}'
    due = Timer.objects.filter(fired_at=None, due_at__lte=now)
    overdue_since = due.aggregate(m=Min("due_at"))["m"]
    yield "# HELP checkstack_timers_due Timers due and not fired yet."
    yield "# TYPE checkstack_timers_due gauge"
    yield f"checkstack_timers_due {due.count()}"
    yield "# HELP checkstack_timers_overdue_seconds How late the most overdue timer is."
    yield "# TYPE checkstack_timers_overdue_seconds gauge"
    yield f"checkstack_timers_overdue_seconds {(now - overdue_since).total_seconds() if overdue_since else 0:.3f}"


def metrics(request):
    if not _allowed(request):
        return HttpResponseForbidden("metrics are for staff or allow-listed clients\n", content_type="text/plain")
    return HttpResponse("\n".join(_lines()) + "\n", content_type="text/plain; version=0.0.4")
