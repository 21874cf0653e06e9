"""Each system's last 90 days of daily roll-ups in one row (SystemDailyHistory), for the status page's bars.

A page of 500 systems would otherwise read 45,000 roll-up rows per view. The rows are rewritten from the
daily roll-ups by every roll-up refresh (beat, every 5 minutes), right after the roll-ups themselves, so they
are as fresh as the roll-ups; a check deleted or added shows in the bars at the next refresh.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

from django.db import transaction
from django.db.models import Sum, TextField
from django.db.models.functions import Cast

from .models import CheckDailyRollup, SystemDailyHistory

HISTORY_DAYS = 90


def history_refresh(*, now: datetime) -> int:
    """Rewrite every system's row from the roll-ups of the 90 days up to today; the rows written."""
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=HISTORY_DAYS - 1)
    rows = (CheckDailyRollup.objects.filter(day__gte=first, day__lte=today)
            .values("check_ref__system_id", "day").annotate(runs=Sum("runs"), failures=Sum("failures"))
            .order_by().values_list("check_ref__system_id", "day", "runs", "failures"))
    days = defaultdict(lambda: [[0, 0] for _ in range(HISTORY_DAYS)])
    for system_id, day, runs, failures in rows:
        days[system_id][(day - first).days] = [runs, failures]
    with transaction.atomic():
        # Systems whose checks and roll-ups are all gone lose their row; the others are upserted.
        SystemDailyHistory.objects.exclude(system_id__in=list(days)).delete()
        SystemDailyHistory.objects.bulk_create(
            [SystemDailyHistory(system_id=system_id, last_day=today, days=values)
             for system_id, values in days.items()],
            batch_size=500, update_conflicts=True, unique_fields=["system"], update_fields=["last_day", "days"])
    return len(days)


class PastDays(NamedTuple):
    """A system's past days as the page reads them, with the totals its 30- and 90-day figures start from."""

    tallies: tuple  # ((runs, failures), ...) of each date, oldest first
    recent: tuple[int, int]  # the sum over the last RECENT_DAYS - 1 of them (the 30 days without today)
    total: tuple[int, int]  # the sum over all of them


RECENT_DAYS = 30


def past_summary(tallies: tuple) -> PastDays:
    """The tallies with their totals (a pure function; the totals are sums of runs and failures)."""
    recent = tallies[-(RECENT_DAYS - 1):]
    return PastDays(tallies, (sum(t[0] for t in recent), sum(t[1] for t in recent)),
                    (sum(t[0] for t in tallies), sum(t[1] for t in tallies)))


@lru_cache(maxsize=8192)
def _window(raw: str, start: int, count: int) -> PastDays:
    """`count` days of a row from index `start` (outside the row: no data), decoded and summed once per process.

    A row changes only at a refresh, and decoding and summing 500 rows of 90 pairs per view was a fifth of a
    500-system page's render. The key is the row's whole text, so a rewritten row is a new entry.
    """
    values = tuple(tuple(pair) for pair in json.loads(raw))
    if 0 <= start and start + count <= len(values):
        tallies = values[start:start + count]  # the usual case: refreshed today
    else:
        tallies = tuple(values[start + n] if 0 <= start + n < len(values) else (0, 0) for n in range(count))
    return past_summary(tallies)


def past_days(system_ids, *, dates: list[date]) -> dict[str, PastDays]:
    """Each of `dates` (past days, oldest first) by system id, from the rows (one query); system_ids None: every
    system's row (a fleet's page: an id list of hundreds costs more to send than the rows it leaves out)."""
    out = {}
    rows = SystemDailyHistory.objects.all() if system_ids is None else (
        SystemDailyHistory.objects.filter(system_id__in=list(system_ids)))
    rows = rows.annotate(raw=Cast("days", TextField())).values_list("system_id", "last_day", "raw")
    for system_id, last_day, raw in rows:
        # The row's last value is last_day; a date before the row's window, or after it (not refreshed since),
        # has no data.
        out[str(system_id)] = _window(raw, HISTORY_DAYS - 1 - (last_day - dates[0]).days, len(dates))
    return out
