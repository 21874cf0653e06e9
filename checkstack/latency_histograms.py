"""The latency histograms of /metrics, counted at scrape time from the last hour's rows.

Why from rows and not observed in the code: routing, runs and checks happen in Celery workers, on other
processes and often other machines than the web process that answers /metrics. An in-process histogram
there would be invisible to the scrape; prometheus_client's multiprocess mode shares files between the
processes of one machine only. The rows in the database already carry both ends of every interval, so each
scrape buckets the intervals that ended in the last hour (the most recent COUNT_CAP of them) on an index.
These are windowed histograms: read them with `histogram_quantile()` directly, not over `rate()`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, Func, OuterRef, Q, Subquery, Sum, UUIDField
from prometheus_client.core import HistogramMetricFamily

from automation.models import TERMINAL_STATUSES, ChangeEvent, Run
from checks.models import CheckResult

COUNT_CAP = 10_000
RECENT = timedelta(hours=1)
# A change's id as routing writes it into Run.firing_key (schedules write "tick:<time>" there instead).
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class ChangeIdOfKey(Func):
    """Run.firing_key (a UUID in text) as the change_id column stores it, so the lookup stays on its index."""

    template = "CAST(%(expressions)s AS uuid)"
    output_field = UUIDField()

    def as_sqlite(self, compiler, connection, **extra):
        # Django stores a UUIDField on SQLite as 32 hex characters, without the dashes.
        return self.as_sql(compiler, connection, template="REPLACE(%(expressions)s, '-', '')", **extra)


def interval(start: str, end: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(end) - F(start), output_field=DurationField())


def _routing_lag(now: datetime):
    # index change_routed_at: routed changes by occurred_at
    return ChangeEvent.objects.filter(routed_at__isnull=False, occurred_at__gte=now - RECENT) \
        .annotate(seconds=interval("occurred_at", "routed_at")).order_by("-occurred_at")


def _commit_to_first_action(now: datetime):
    # index run_ended, then the change's unique change_id index once per run
    occurred = ChangeEvent.objects.filter(change_id=ChangeIdOfKey(OuterRef("firing_key"))).values("occurred_at")[:1]
    return _ended_runs(now).filter(started_at__isnull=False, firing_key__regex=UUID_PATTERN) \
        .annotate(committed_at=Subquery(occurred)).filter(committed_at__isnull=False) \
        .annotate(seconds=interval("committed_at", "started_at"))


def _run_duration(now: datetime):
    return _ended_runs(now).filter(started_at__isnull=False).annotate(seconds=interval("started_at", "finished_at"))


def _ended_runs(now: datetime):
    # index run_ended: ended runs by finished_at
    return Run.objects.filter(status__in=TERMINAL_STATUSES, finished_at__gte=now - RECENT).order_by("-finished_at")


def _check_latency(now: datetime):
    # index checkresult_at
    return CheckResult.objects.filter(at__gte=now - RECENT, latency_ms__isnull=False).order_by("-at")


@dataclass(frozen=True)
class Histogram:
    name: str
    help: str
    buckets: tuple[float, ...]  # upper bounds in seconds
    rows: Callable[[datetime], object]  # the window's rows, newest first
    field: str = "seconds"  # an interval, or "latency_ms" (milliseconds)

    def bound(self, seconds: float):
        return seconds * 1000 if self.field == "latency_ms" else timedelta(seconds=seconds)

    def family(self, now: datetime) -> HistogramMetricFamily:
        counts = {f"le{i}": Count("pk", filter=Q(**{f"{self.field}__lte": self.bound(b)}))
                  for i, b in enumerate(self.buckets)}
        figures = self.rows(now)[:COUNT_CAP].aggregate(total=Sum(self.field), count=Count("pk"), **counts)
        buckets = [(str(float(b)), figures[f"le{i}"]) for i, b in enumerate(self.buckets)]
        return HistogramMetricFamily(self.name, self.help, buckets=[*buckets, ("+Inf", figures["count"])],
                                     sum_value=as_seconds(figures["total"], self.field))


def as_seconds(total, field: str) -> float:
    if total is None:
        return 0.0
    return total / 1000 if field == "latency_ms" else total.total_seconds()


HISTOGRAMS = [
    Histogram("checkstack_routing_delay_seconds",
              "Commit to routed, for the changes of the last hour that are routed (most recent "
              f"{COUNT_CAP}).", (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300), _routing_lag),
    Histogram("checkstack_commit_to_first_action_seconds",
              "A change's commit to the start of the run it fired, for runs that ended in the last hour (most "
              f"recent {COUNT_CAP}).", (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300), _commit_to_first_action),
    Histogram("checkstack_run_duration_seconds",
              f"Start to end of the runs that ended in the last hour (most recent {COUNT_CAP}).",
              (0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600), _run_duration),
    Histogram("checkstack_check_latency_seconds",
              f"Response time of the check results of the last hour (most recent {COUNT_CAP}).",
              (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), _check_latency, field="latency_ms"),
]
