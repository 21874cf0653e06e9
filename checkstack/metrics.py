"""/metrics in Prometheus text, for staff users, for scrapers holding CHECKSTACK_METRICS_TOKEN (when set),
or else for clients on CHECKSTACK_METRICS_ALLOWLIST.

The figures live in the database, which every process writes (web, workers on several machines, beat), so
one collector reads them at scrape time instead of counters kept in one process's memory. Every figure is
one query whose cost does not grow with the tables: an indexed range, the first row of an index, or a count
capped at COUNT_CAP (reads 10000 when there are more). Add a gauge with one `Gauge` in GAUGES, a histogram
with one entry in latency_histograms.HISTOGRAMS, and its row in docs/operations.md (a test compares them);
checkstack/tests/test_metrics_constant_queries.py checks that each query stays on an index at 100,000 rows.
"""

import hmac
import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Count
from django.http import HttpResponse, HttpResponseForbidden
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from automation.models import ACTIVE_STATUSES, TERMINAL_STATUSES, ChangeEvent, Run, SubscriptionDelivery, Timer
from notifications.channels.models import ChannelDelivery

from .latency_histograms import COUNT_CAP, HISTOGRAMS, RECENT

Sample = tuple[tuple[str, ...], float]  # (label values, value)


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


def _oldest_unrouted(now) -> Iterable[Sample]:
    yield (), seconds_since(_unrouted().order_by("occurred_at").values_list("occurred_at", flat=True).first(), now)


def _active_runs(now) -> Iterable[Sample]:
    for status in ACTIVE_STATUSES:  # index run_active_bucket (its condition covers each status)
        yield (status,), capped_count(Run.objects.filter(status=status))


def _recently_ended_runs(now) -> Iterable[Sample]:
    ended = dict(Run.objects.filter(status__in=TERMINAL_STATUSES, finished_at__gte=now - RECENT)  # index run_ended
                 .values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    for status in TERMINAL_STATUSES:
        yield (status,), ended.get(status, 0)


def _channel_deliveries(now) -> Iterable[Sample]:
    # Each status has its partial index (channel_delivery_due, _claimed, _failed); sent ones are not counted.
    for status in ("pending", "sending", "failed"):
        yield (status,), capped_count(ChannelDelivery.objects.filter(status=status))


def _oldest_due_timer(now) -> Iterable[Sample]:
    yield (), seconds_since(_due_timers(now).order_by("due_at").values_list("due_at", flat=True).first(), now)


def _count(queryset_of: Callable) -> Callable[[datetime], Iterable[Sample]]:
    return lambda now: [((), capped_count(queryset_of(now)))]


@dataclass(frozen=True)
class Gauge:
    name: str
    help: str
    samples: Callable[[datetime], Iterable[Sample]]
    labels: tuple[str, ...] = ()


GAUGES = [
    Gauge("checkstack_change_events_pending",
          f"Change events committed but not routed yet, parked ones apart, counted up to {COUNT_CAP}.",
          _count(lambda now: _unrouted())),
    Gauge("checkstack_changes_parked",
          f"Change events whose routing kept failing, parked until an operator replays them, counted up to "
          f"{COUNT_CAP}.", _count(lambda now: _parked())),
    Gauge("checkstack_routing_lag_seconds", "Age of the oldest unrouted change event, parked ones apart (0: none).",
          _oldest_unrouted),
    Gauge("checkstack_deliveries_pending", f"work_queue subscriber deliveries not done yet, counted up to {COUNT_CAP}.",
          _count(lambda now: SubscriptionDelivery.objects.filter(delivered_at=None))),
    Gauge("checkstack_channel_deliveries",
          f"Notification channel deliveries by status (pending, sending, failed: out of attempts, replayable "
          f"from the admin), each counted up to {COUNT_CAP}.", _channel_deliveries, ("status",)),
    Gauge("checkstack_runs", f"Runs not ended, by status (pending, running, waiting), each counted up to {COUNT_CAP}.",
          _active_runs, ("status",)),
    Gauge("checkstack_runs_ended_last_hour",
          "Runs that ended in the last hour, by status (succeeded, failed, cancelled, skipped).",
          _recently_ended_runs, ("status",)),
    Gauge("checkstack_timers_due", f"Timers due and not fired yet, counted up to {COUNT_CAP}.", _count(_due_timers)),
    Gauge("checkstack_timers_overdue_seconds", "How late the most overdue timer is (0: none).", _oldest_due_timer),
]


def _bearer_matches(request, token: str) -> bool:
    scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


class DatabaseCollector(Collector):
    """Every /metrics figure, read from the database when Prometheus scrapes."""

    def collect(self):
        now = timezone.now()
        last_id = ChangeEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        yield CounterMetricFamily("checkstack_change_events", "Change events committed so far (the highest "
                                  "change-event id; rate() is changes per second).", value=last_id)
        for gauge in GAUGES:
            family = GaugeMetricFamily(gauge.name, gauge.help, labels=gauge.labels)
            for labels, value in gauge.samples(now):
                family.add_metric(labels, value)
            yield family
        for histogram in HISTOGRAMS:
            yield histogram.family(now)


REGISTRY = CollectorRegistry(auto_describe=False)  # not the default one: no per-process figures of one web worker
REGISTRY.register(DatabaseCollector())


def _allowed(request) -> bool:
    """Staff users; else the bearer token when CHECKSTACK_METRICS_TOKEN is set, else an allow-listed address.

    With a token the address does not count at all: behind a reverse proxy on the same host every request
    comes from 127.0.0.1, so the default allow-list would let the whole internet in.
    """
    if request.user.is_authenticated and request.user.is_staff:
        return True
    if settings.CHECKSTACK_METRICS_TOKEN:
        return _bearer_matches(request, settings.CHECKSTACK_METRICS_TOKEN)
    try:
        client = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(client in ipaddress.ip_network(entry, strict=False) for entry in settings.CHECKSTACK_METRICS_ALLOWLIST)


def metrics(request):
    if not _allowed(request):
        return HttpResponseForbidden("metrics are for staff, the metrics token or allow-listed clients\n",
                                     content_type="text/plain")
    return HttpResponse(generate_latest(REGISTRY), content_type="text/plain; version=0.0.4; charset=utf-8")
