"""Monthly uptime per system, for the status page's history: one line per system, one figure per month.

From the daily roll-ups only (one grouped query for any number of systems): a month is the share of its check
runs that passed, "no data" without runs. Today's roll-up is refreshed every few minutes, so the current month
is at most that far behind. The status page is rebuilt elsewhere: it calls `monthly_uptime` and includes
templates/status/_monthly_uptime.html with its result as `monthly_uptime`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.db.models import Sum
from django.db.models.functions import TruncMonth

from ..models import CheckDailyRollup
from ..uptime import Tally, percent_text


@dataclass(frozen=True)
class MonthUptime:
    month: date  # its first day
    tally: Tally

    @property
    def text(self) -> str:
        return percent_text(self.tally.percent)


def _months_back(today: date, count: int) -> list[date]:
    months, year, month = [], today.year, today.month
    for _ in range(count):
        months.append(date(year, month, 1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months[::-1]


def monthly_uptime(*, systems, now: datetime, months: int = 3) -> list[dict]:
    """`[{name, months: [MonthUptime, oldest first]}]` for these systems (objects with `pk` and `name`)."""
    systems = list(systems)
    if not systems:
        return []
    listed = _months_back(now.astimezone(UTC).date(), months)
    rows = (CheckDailyRollup.objects.filter(check_ref__system_id__in=[s.pk for s in systems], day__gte=listed[0])
            .annotate(month=TruncMonth("day")).values("check_ref__system_id", "month")
            .annotate(runs=Sum("runs"), failures=Sum("failures")).order_by())
    tallies = {(str(r["check_ref__system_id"]), r["month"]): Tally(r["runs"], r["failures"]) for r in rows}
    return [{"name": s.name, "months": [MonthUptime(m, tallies.get((str(s.pk), m), Tally())) for m in listed]}
            for s in systems]
