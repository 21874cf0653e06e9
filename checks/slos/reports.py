"""An objective's monthly report: per UTC day, results counted ("checks"), failures (bad results), SLI and
budget used; the month's totals. Whole days come from the same summaries the evaluation reads (roll-ups, or
the objective's day tallies), today from its results so far; days after today are not listed.

A day's `budget_used_percent` is its bad results as a share of the month's error budget (the budget share of
all the month's results), so the days add up to the month's figure.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime
from fractions import Fraction

from .arithmetic import Tally, allowed_bad, sli
from .models import Slo
from .tallies import per_day, recent

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
CSV_COLUMNS = ["day", "checks", "failures", "sli_percent", "budget_used_percent"]


def parse_month(text: str | None) -> tuple[int, int] | None:
    """(year, month) of a `YYYY-MM`, or None when it is not one."""
    match = MONTH.match(text or "")
    return (int(match[1]), int(match[2])) if match else None


def _percent(value: Fraction | None) -> float | None:
    return None if value is None else round(float(value * 100), 4)


def slo_report(*, slo: Slo, year: int, month: int, now: datetime) -> dict:
    """The report of one month (the current one so far)."""
    today = now.astimezone(UTC).date()
    first = date(year, month, 1)
    last = min(date(year, month, calendar.monthrange(year, month)[1]), today)
    days: dict[date, Tally] = {}
    if first <= last:
        days = per_day(slo=slo, first=first, last=min(last, date.fromordinal(today.toordinal() - 1)))
        if last == today:
            days[today] = recent(slo_ids=[slo.pk], now=now)[0].get(str(slo.pk), Tally())
    listed = [date.fromordinal(n) for n in range(first.toordinal(), last.toordinal() + 1)]
    month_tally = sum((days.get(d, Tally()) for d in listed), Tally())
    budget = allowed_bad(slo.target_percent) * month_tally.total  # bad results the month may have

    def used(tally: Tally) -> float:
        return 0.0 if not budget else round(float(Fraction(tally.bad) / budget * 100), 4)

    return {
        "slo_id": str(slo.pk), "name": slo.name, "month": f"{year:04d}-{month:02d}",
        "target_percent": float(slo.target_percent), "indicator": slo.indicator,
        "checks": month_tally.total, "failures": month_tally.bad, "sli_percent": _percent(sli(month_tally)),
        "budget_used_percent": used(month_tally),
        "days": [{"day": d.isoformat(), "checks": days.get(d, Tally()).total, "failures": days.get(d, Tally()).bad,
                  "sli_percent": _percent(sli(days.get(d, Tally()))), "budget_used_percent": used(days.get(d, Tally()))}
                 for d in listed],
    }
