"""How many results each objective counted, good and bad: over its window, over its burn windows, per day.

Constant statements for any number of objectives. Whole past days come from summaries: an availability
objective sums the system's daily roll-ups (checks/rollups.py), a latency objective its own day tallies (a
roll-up cannot say how many results were under this objective's threshold). Only today and the burn windows
(at most 6 hours) read raw results, in one grouped query. The window of a W-day objective is today so far plus
the W-1 whole days before it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from django.db.models import Count, F, Min, Q, Sum
from django.db.models.functions import TruncDate

from ..models import CheckResult
from ..rollups import day_bounds
from .arithmetic import BURN_WINDOWS_MINUTES, Tally
from .models import Indicator, Slo, SloDayTally

RESULTS = "system__checks__results__"
ROLLUPS = "system__checks__rollups__"
# A day's tally is written again until one is computed this long after the day ended: results of the last
# runs of the day land a little after midnight.
SETTLE = timedelta(minutes=10)


def _scope(slo_ids) -> Q:
    return Q() if slo_ids is None else Q(pk__in=list(slo_ids))


def _window_starts(windows, today: date) -> dict[int, date]:
    return {w: today - timedelta(days=w - 1) for w in set(windows)}


def _bad(prefix: str) -> Q:
    """A result is bad when it failed, or, for a latency objective, when it took longer than the threshold."""
    return Q(**{f"{prefix}ok": False}) | Q(indicator=Indicator.LATENCY,
                                          **{f"{prefix}latency_ms__gt": F("latency_threshold_ms")})


def past_days(*, slo_ids=None, windows, today: date) -> dict[str, Tally]:
    """Each objective's whole days of its window (before today), summed from roll-ups or day tallies."""
    starts = _window_starts(windows, today)
    if not starts:
        return {}
    # One filter() call, so every condition names the same roll-up row (one join) and Sum adds only those.
    in_window = Q()
    for window, first in starts.items():
        in_window |= Q(window_days=window, **{f"{ROLLUPS}day__gte": first})
    rollups = (Slo.objects.filter(_scope(slo_ids), in_window, indicator=Indicator.AVAILABILITY,
                                  **{f"{ROLLUPS}day__lt": today})
               .values("pk").annotate(total=Sum(f"{ROLLUPS}runs"), bad=Sum(f"{ROLLUPS}failures")).order_by())
    tallied = Q()
    for window, first in starts.items():
        tallied |= Q(slo__window_days=window, day__gte=first)
    tally_scope = Q() if slo_ids is None else Q(slo_id__in=list(slo_ids))
    tallies = (SloDayTally.objects.filter(tally_scope, tallied, day__lt=today)  # slo_tally_one_per_day
               .values("slo_id").annotate(total=Sum("total"), bad=Sum("bad")).order_by())
    out = {str(r["pk"]): Tally(r["total"] or 0, r["bad"] or 0) for r in rollups}
    out.update({str(r["slo_id"]): Tally(r["total"] or 0, r["bad"] or 0) for r in tallies})
    return out


def recent(*, slo_ids=None, now: datetime) -> tuple[dict[str, Tally], dict[str, dict[int, Tally]]]:
    """Each objective's results of today so far, and of its burn windows (by minutes), in one query."""
    midnight = day_bounds(now.astimezone(UTC).date())[0]
    since = {minutes: now - timedelta(minutes=minutes) for minutes in BURN_WINDOWS_MINUTES}
    counts = {"today_total": Count(f"{RESULTS}id", filter=Q(**{f"{RESULTS}at__gte": midnight})),
              "today_bad": Count(f"{RESULTS}id", filter=Q(**{f"{RESULTS}at__gte": midnight}) & _bad(RESULTS))}
    for minutes, start in since.items():
        counts[f"total_{minutes}"] = Count(f"{RESULTS}id", filter=Q(**{f"{RESULTS}at__gte": start}))
        counts[f"bad_{minutes}"] = Count(f"{RESULTS}id", filter=Q(**{f"{RESULTS}at__gte": start}) & _bad(RESULTS))
    # The filter precedes the annotation, so the counts see only these results (index checkresult_at).
    rows = (Slo.objects.filter(_scope(slo_ids), **{f"{RESULTS}at__gte": min(midnight, *since.values()),
                                                   f"{RESULTS}at__lte": now})
            .values("pk").annotate(**counts).order_by())
    today, burns = {}, {}
    for row in rows:
        key = str(row["pk"])
        today[key] = Tally(row["today_total"], row["today_bad"])
        burns[key] = {m: Tally(row[f"total_{m}"], row[f"bad_{m}"]) for m in BURN_WINDOWS_MINUTES}
    return today, burns


def per_day(*, slo: Slo, first: date, last: date) -> dict[date, Tally]:
    """One objective's results per whole past day in [first, last] (roll-ups or its day tallies)."""
    if slo.indicator == Indicator.LATENCY:
        rows = slo.tallies.filter(day__gte=first, day__lte=last).values_list("day", "total", "bad")
        return {day: Tally(total, bad) for day, total, bad in rows}
    rows = (Slo.objects.filter(pk=slo.pk, **{f"{ROLLUPS}day__gte": first, f"{ROLLUPS}day__lte": last})
            .values_list(f"{ROLLUPS}day").annotate(total=Sum(f"{ROLLUPS}runs"), bad=Sum(f"{ROLLUPS}failures"))
            .order_by())
    return {day: Tally(total, bad) for day, total, bad in rows}


def _tallies_wanted(now: datetime) -> dict[str, list[date]]:
    """Latency objectives' days in their windows with no tally yet, or one written before the day settled."""
    today = now.astimezone(UTC).date()
    slos = list(Slo.objects.filter(indicator=Indicator.LATENCY).values_list("pk", "window_days"))
    if not slos:
        return {}
    oldest = CheckResult.objects.aggregate(at=Min("at"))["at"]  # index checkresult_at
    if oldest is None:
        return {}
    first_kept = oldest.astimezone(UTC).date()  # earlier days' results are purged: nothing to count
    have = {(str(s), d): at for s, d, at in SloDayTally.objects.filter(day__gte=today - timedelta(days=90))
            .values_list("slo_id", "day", "computed_at")}
    wanted = defaultdict(list)
    for pk, window in slos:
        for n in range(1, window):
            day = today - timedelta(days=n)
            if day < first_kept:
                break
            written = have.get((str(pk), day))
            if written is None or written < day_bounds(day)[1] + SETTLE:
                wanted[str(pk)].append(day)
    return wanted


def latency_tallies_fill(*, now: datetime) -> int:
    """Write the day tallies latency objectives miss (steady state: yesterday, until it settles); idempotent."""
    wanted = _tallies_wanted(now)
    if not wanted:
        return 0
    start = day_bounds(min(min(days) for days in wanted.values()))[0]
    end = day_bounds(now.astimezone(UTC).date())[0]
    rows = (Slo.objects.filter(pk__in=list(wanted), **{f"{RESULTS}at__gte": start, f"{RESULTS}at__lt": end})
            .annotate(day=TruncDate(f"{RESULTS}at", tzinfo=UTC)).values("pk", "day")
            .annotate(total=Count(f"{RESULTS}id"), bad=Count(f"{RESULTS}id", filter=_bad(RESULTS))).order_by())
    counted = {(str(r["pk"]), r["day"]): Tally(r["total"], r["bad"]) for r in rows}
    tallies = [SloDayTally(slo_id=pk, day=day, total=counted.get((pk, day), Tally()).total,
                           bad=counted.get((pk, day), Tally()).bad, computed_at=now)
               for pk, days in wanted.items() for day in days]
    SloDayTally.objects.bulk_create(tallies, batch_size=1000, update_conflicts=True, unique_fields=["slo", "day"],
                                    update_fields=["total", "bad", "computed_at"])
    return len(tallies)
