"""/metrics in Prometheus text format, for staff users or clients on CHECKSTACK_METRICS_ALLOWLIST.

Every figure comes from one query whose cost does not grow with the tables: an indexed range, the first row
of an index, or a count capped at COUNT_CAP (reads "10000" when there are more). Add a figure by adding one
`Metric` to METRICS; checkstack/tests/test_metrics_constant_queries.py checks that each query stays on an
index with 100,000 rows in the tables.
"""

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count
from django.http import HttpResponse, HttpResponseForbidden
from django.utils import timezone

from automation.models import ACTIVE_STATUSES, TERMINAL_STATUSES, ChangeEvent, Run, SubscriptionDelivery, Timer
from notifications.channels.models import ChannelDelivery

COUNT_CAP = 10_000
RECENT = timedelta(hours=1)

Sample = tuple[str, float]  # (labels such as '{status="failed"}' or "", value)


@dataclass(frozen=True)
class Metric:
    name: str
    type: str  # "gauge" or "counter"
    help: str
    samples: Callable[[datetime], Iterable[Sample]]


def capped_count(queryset) -> int:
    """count(*) of at most COUNT_CAP rows: SELECT count(*) FROM (SELECT id ... LIMIT n)."""
    return queryset.values("pk")[:COUNT_CAP].count()


def seconds_since(moment: datetime | None, now: datetime) -> float:
    return max((now - moment).total_seconds(), 0.0) if moment else 0.0


def _unrouted():
    # Parked changes wait for an operator, not for the workers: their own gauge, out of pending and the lag.
    return ChangeEvent.objects.filter(routed_at=None, parked_at=None)  # index change_unrouted


def _parked():
    return ChangeEvent.objects.filter(routed_at=None).exclude(parked_at=None)  # index change_unrouted


def _due_timers(now):
    return Timer.objects.filter(fired_at=None, due_at__lte=now)  # index timer_due


def _last_change_id(now) -> Iterable[Sample]:
    yield "", ChangeEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _oldest_unrouted(now) -> Iterable[Sample]:
    yield "", seconds_since(_unrouted().order_by("occurred_at").values_list("occurred_at", flat=True).first(), now)


def _active_runs(now) -> Iterable[Sample]:
    for status in ACTIVE_STATUSES:  # index run_active_bucket (its condition covers each status)
        yield f'{{status="{status}"}}', capped_count(Run.objects.filter(status=status))


def _recently_ended_runs(now) -> Iterable[Sample]:
    ended = dict(Run.objects.filter(status__in=TERMINAL_STATUSES, finished_at__gte=now - RECENT)  # index run_ended
                 .values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    for status in TERMINAL_STATUSES:
        yield f'{{status="{status}"}}', ended.get(status, 0)


def _channel_deliveries(now) -> Iterable[Sample]:
    # Each status has its partial index (channel_delivery_due, _claimed, _failed); sent ones are not counted.
    for status in ("pending", "sending", "failed"):
        yield f'{{status="{status}"}}', capped_count(ChannelDelivery.objects.filter(status=status))


def _oldest_due_timer(now) -> Iterable[Sample]:
    yield "", seconds_since(_due_timers(now).order_by("due_at").values_list("due_at", flat=True).first(), now)


METRICS = [
    Metric("checkstack_change_events_total", "counter",
           "Change events committed so far (the highest change-event id; rate() is changes per second).",
           _last_change_id),
    Metric("checkstack_change_events_pending", "gauge",
           f"Change events committed but not routed yet (parked included), counted up to {COUNT_CAP}.",
           lambda now: [("", capped_count(_unrouted()))]),
    Metric("checkstack_routing_lag_seconds", "gauge", "Age of the oldest unrouted change event (0: none).",
           _oldest_unrouted),
    Metric("checkstack_deliveries_pending", "gauge",
           f"work_queue subscriber deliveries not done yet, counted up to {COUNT_CAP}.",
           lambda now: [("", capped_count(SubscriptionDelivery.objects.filter(delivered_at=None)))]),
    Metric("checkstack_channel_deliveries", "gauge",
           f"Notification channel deliveries by status (pending, sending, failed: out of attempts, replayable "
           f"from the admin), each counted up to {COUNT_CAP}.", _channel_deliveries),
    Metric("checkstack_runs", "gauge",
           f"Runs not ended, by status (pending, running, waiting), each counted up to {COUNT_CAP}.", _active_runs),
    Metric("checkstack_runs_ended_last_hour", "gauge",
           "Runs that ended in the last hour, by status (succeeded, failed, cancelled, skipped).",
           _recently_ended_runs),
    Metric("checkstack_timers_due", "gauge", f"Timers due and not fired yet, counted up to {COUNT_CAP}.",
           lambda now: [("", capped_count(_due_timers(now)))]),
    Metric("checkstack_timers_overdue_seconds", "gauge", "How late the most overdue timer is (0: none).",
           _oldest_due_timer),
]


def _allowed(request) -> bool:
    if request.user.is_authenticated and request.user.is_staff:
        return True
    try:
        client = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(client in ipaddress.ip_network(entry, strict=False) for entry in settings.CHECKSTACK_METRICS_ALLOWLIST)


def _format(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:.3f}"


def _lines():
    now = timezone.now()
    for metric in METRICS:
        yield f"# HELP {metric.name} {metric.help}"
        yield f"# TYPE {metric.name} {metric.type}"
        for labels, value in metric.samples(now):
            yield f"{metric.name}{labels} {_format(value)}"


def metrics(request):
    if not _allowed(request):
        return HttpResponseForbidden("metrics are for staff or allow-listed clients\n", content_type="text/plain")
    return HttpResponse("\n".join(_lines()) + "\n", content_type="text/plain; version=0.0.4")
