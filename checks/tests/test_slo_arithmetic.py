"""SLO arithmetic, pure: SLI, budget left, burn rates, the multiwindow status and the budget band, checked
against figures worked out by hand."""

from decimal import Decimal
from fractions import Fraction

import pytest

from checks.slos.arithmetic import Tally, band_of, budget_remaining, burn_rate, figures, sli, status_of

T999 = Decimal("99.9")  # budget: 1 bad result in 1,000


def burns(five=0, thirty=0, hour=0, six=0):
    return {5: Fraction(five), 30: Fraction(thirty), 60: Fraction(hour), 360: Fraction(six)}


def test_sli_and_budget_by_hand():
    # 10,000 results, 4 bad: SLI 99.96 %; the budget allows 10, 4 spent, 60 % left.
    assert sli(Tally(10_000, 4)) == Fraction(9996, 10_000)
    assert budget_remaining(Tally(10_000, 4), T999) == Fraction(3, 5)


def test_a_budget_spent_to_the_last_result_is_exactly_zero_and_exhausted():
    # 99.9 % of 2,000 allows 2 bad; the float 1 - 0.999 would leave 1e-16 either side.
    remaining = budget_remaining(Tally(2000, 2), T999)
    assert remaining == 0
    assert status_of(remaining, burns()) == "exhausted"
    assert band_of(remaining) == 0
    assert budget_remaining(Tally(2000, 1), T999) == Fraction(1, 2)


def test_no_results_spend_nothing():
    assert sli(Tally()) is None
    assert budget_remaining(Tally(), T999) == 1
    assert burn_rate(Tally(), T999) == 0
    shown = figures(window=Tally(), burns={}, target_percent=T999)
    assert (shown.sli_percent, shown.budget_remaining_percent, shown.status, shown.budget_band) == \
        (None, 100.0, "ok", 100)


def test_overspent_budget_is_negative_and_band_zero():
    assert budget_remaining(Tally(1000, 3), T999) == -2
    assert band_of(Fraction(-2)) == 0


def test_burn_rate_is_the_bad_share_over_the_budget_share():
    # 99 % allows 1 in 100; 36 bad of 250 = 14.4 %: 14.4 times the sustainable rate.
    assert burn_rate(Tally(250, 36), Decimal("99")) == Fraction(72, 5)


@pytest.mark.parametrize("rates, expected", [
    (burns(five=15, hour=15), "burning"),          # fast: both windows above 14.4
    (burns(five=14.4, hour=20), "ok"),             # the short window at (not above) 14.4: stopped
    (burns(five=20, hour=14.4), "ok"),             # a spike too short to show in the hour
    (burns(thirty=7, six=7), "burning"),           # slow: both above 6
    (burns(thirty=5, six=50), "ok"),               # the burn has stopped: the 30 min window says so
    (burns(five=100, thirty=100), "ok"),           # only short windows: not yet
])
def test_the_multiwindow_rule(rates, expected):
    assert status_of(Fraction(1, 2), rates) == expected


@pytest.mark.parametrize("remaining, band", [
    (Fraction(1), 100), (Fraction(999, 1000), 90), (Fraction(9, 10), 90), (Fraction(899, 1000), 80),
    (Fraction(1, 100), 0), (Fraction(0), 0)])
def test_budget_bands_are_whole_tens(remaining, band):
    assert band_of(remaining) == band


def test_figures_round_for_display():
    shown = figures(window=Tally(3000, 1), burns={60: Tally(60, 1), 5: Tally(5, 0)}, target_percent=T999)
    assert shown.sli_percent == 99.9667
    assert shown.budget_remaining_percent == 66.67
    assert shown.burn_rate_1h == 16.67
    assert shown.burn_rate_5m == 0
    assert shown.status == "ok"
    assert shown.budget_band == 60
