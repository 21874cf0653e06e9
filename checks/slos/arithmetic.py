"""The arithmetic of an objective, pure: SLI, error budget left, burn rates and the multiwindow status.

Fractions, not floats: a target of 99.9 % leaves an error budget of exactly 1/1000, so a budget spent to the
last result reads exactly zero (and `exhausted`) instead of 1e-13 either side of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

# The Google SRE workbook's multiwindow rule: a fast burn (2 % of a 30-day budget in an hour) must show in
# the long window and still be going on in the short one; a slower one (5 % in six hours) likewise.
FAST_BURN = 14.4
SLOW_BURN = 6.0
BURN_WINDOWS_MINUTES = (5, 30, 60, 360)


@dataclass(frozen=True)
class Tally:
    total: int = 0
    bad: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.total + other.total, self.bad + other.bad)


@dataclass(frozen=True)
class Figures:
    sli_percent: float | None  # None: no results in the window
    budget_remaining_percent: float
    burn_rate_5m: float
    burn_rate_30m: float
    burn_rate_1h: float
    burn_rate_6h: float
    status: str
    budget_band: int


def allowed_bad(target_percent: Decimal) -> Fraction:
    """The error budget as a share of results: 1 - target."""
    return 1 - Fraction(Decimal(target_percent)) / 100


def sli(tally: Tally) -> Fraction | None:
    return None if not tally.total else Fraction(tally.total - tally.bad, tally.total)


def budget_remaining(tally: Tally, target_percent: Decimal) -> Fraction:
    """Share of the error budget left, 1 = untouched; below 0 when overspent. No results spend nothing."""
    if not tally.total:
        return Fraction(1)
    return 1 - Fraction(tally.bad, tally.total) / allowed_bad(target_percent)


def burn_rate(tally: Tally, target_percent: Decimal) -> Fraction:
    """How fast the window spends the budget: 1 spends exactly the budget over the objective's window."""
    if not tally.total:
        return Fraction(0)
    return Fraction(tally.bad, tally.total) / allowed_bad(target_percent)


def status_of(remaining: Fraction, burns: dict[int, Fraction]) -> str:
    """`exhausted` with no budget left, `burning` by the multiwindow rule, else `ok`."""
    if remaining <= 0:
        return "exhausted"
    if (burns[60] > FAST_BURN and burns[5] > FAST_BURN) or (burns[360] > SLOW_BURN and burns[30] > SLOW_BURN):
        return "burning"
    return "ok"


def band_of(remaining: Fraction) -> int:
    """The budget left in whole tens of percent, 0 to 100 (95.3 % is band 90; overspent is band 0)."""
    return max(0, min(100, math.floor(remaining * 10) * 10))


def _rounded(value: Fraction, places: int = 4) -> float:
    return round(float(value), places)


def figures(*, window: Tally, burns: dict[int, Tally], target_percent: Decimal) -> Figures:
    """Everything shown of an objective from its window's tally and its burn windows' tallies (by minutes)."""
    remaining = budget_remaining(window, target_percent)
    rates = {minutes: burn_rate(burns.get(minutes, Tally()), target_percent) for minutes in BURN_WINDOWS_MINUTES}
    level = sli(window)
    return Figures(
        sli_percent=None if level is None else _rounded(level * 100),
        budget_remaining_percent=_rounded(remaining * 100, 2),
        burn_rate_5m=_rounded(rates[5], 2), burn_rate_30m=_rounded(rates[30], 2),
        burn_rate_1h=_rounded(rates[60], 2), burn_rate_6h=_rounded(rates[360], 2),
        status=status_of(remaining, rates), budget_band=band_of(remaining))
