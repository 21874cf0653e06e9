"""SLO windows from roll-ups plus today's results, latency day tallies, the burn rule over time, and the `slo`
entity written only on a status or band change."""

from datetime import timedelta

import pytest

from automation.entities.registry import Change
from automation.models import ChangeEvent
from checks.models import CheckDailyRollup, SloDayTally
from checks.slos.entities import derive_slo_events
from checks.slos.evaluation import slos_evaluate, slos_figures
from checks.slos.models import Slo

from .slo_support import NOW, TODAY, checked_system, objective, results, rollup

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def shown(slo, now=NOW):
    return slos_figures(slos=[Slo.objects.get(pk=slo.pk)], now=now)[str(slo.pk)]


def test_the_window_is_today_plus_the_whole_days_before_it_from_rollups():
    system, (a, b) = checked_system(checks=2)
    slo = objective(system, window_days=7)
    rollup(a, 7, runs=1000, failures=1000)  # one day before the window: not counted
    rollup(a, 6, runs=1000, failures=1)  # the window's first day
    rollup(b, 6, runs=1000, failures=0)
    rollup(a, 3, runs=2000, failures=2)  # days 5, 4, 2, 1 have no data: they count nothing
    rollup(a, 0, runs=9999, failures=9999)  # today's roll-up: today comes from the results instead
    results(a, at=NOW - timedelta(hours=11), count=1000, bad=1)
    results(a, at=NOW + timedelta(minutes=1), count=50, bad=50)  # after "now": not yet

    figures = shown(slo)

    # 5,000 results, 4 bad; the budget allows 5: 20 % left.
    assert figures.sli_percent == 99.92
    assert figures.budget_remaining_percent == 20.0
    assert (figures.status, figures.budget_band) == ("ok", 20)


def test_a_budget_spent_exactly_is_exhausted():
    system, (a,) = checked_system()
    slo = objective(system, window_days=30)
    rollup(a, 29, runs=1000, failures=1)
    rollup(a, 1, runs=1000, failures=1)

    figures = shown(slo)

    assert figures.budget_remaining_percent == 0.0
    assert figures.status == "exhausted"


def test_each_objective_reads_its_own_window():
    system, (a,) = checked_system()
    week, month = objective(system, "week", window_days=7), objective(system, "month", window_days=30)
    rollup(a, 20, runs=1000, failures=1)
    rollup(a, 2, runs=1000, failures=0)

    figures = slos_figures(slos=list(Slo.objects.all()), now=NOW)

    assert figures[str(week.pk)].budget_remaining_percent == 100.0
    assert figures[str(month.pk)].budget_remaining_percent == 50.0


def test_latency_objectives_count_results_over_the_threshold_from_their_day_tallies():
    system, (a,) = checked_system()
    slo = objective(system, "fast", target="99", indicator="latency", latency_threshold_ms=200, window_days=7)
    day_before = NOW - timedelta(days=2)
    results(a, at=day_before, count=90, latency_ms=150)
    results(a, at=day_before + timedelta(hours=1), count=8, latency_ms=250)  # slow: bad
    results(a, at=day_before + timedelta(hours=2), count=2, bad=2, latency_ms=50)  # failed: bad
    results(a, at=NOW - timedelta(hours=1), count=100, latency_ms=200)  # at the threshold: good
    rollup(a, 2, runs=100, failures=0)  # what a roll-up says is not what a latency objective counts

    assert slos_evaluate(now=NOW).tallies_written == 2  # the day before yesterday and yesterday (no data)
    tallies = {t.day: (t.total, t.bad) for t in SloDayTally.objects.filter(slo=slo)}
    assert tallies == {TODAY - timedelta(days=2): (100, 10), TODAY - timedelta(days=1): (0, 0)}
    # 200 results, 10 bad; 99 % allows 2: overspent five times.
    assert shown(slo).budget_remaining_percent == -400.0
    assert shown(slo).status == "exhausted"

    # Settled days are not counted again; yesterday's first tally was written before it settled (no: NOW is
    # noon, long after midnight), so a second pass writes nothing.
    assert slos_evaluate(now=NOW + timedelta(minutes=1)).tallies_written == 0


def test_yesterday_is_tallied_again_until_it_settles():
    system, (a,) = checked_system()
    slo = objective(system, "fast", target="99", indicator="latency", latency_threshold_ms=200, window_days=7)
    midnight = NOW.replace(hour=0)
    results(a, at=midnight - timedelta(minutes=1), count=5, latency_ms=300)
    slos_evaluate(now=midnight + timedelta(minutes=1))
    results(a, at=midnight - timedelta(seconds=5), count=1, latency_ms=300)  # a late result of yesterday

    slos_evaluate(now=midnight + timedelta(minutes=15))
    slos_evaluate(now=midnight + timedelta(minutes=16))

    tally = SloDayTally.objects.get(slo=slo, day=TODAY - timedelta(days=1))
    assert (tally.total, tally.bad) == (6, 6)
    assert tally.computed_at == midnight + timedelta(minutes=15)


def slo_changes(slo):
    return list(ChangeEvent.objects.filter(kind="slo", entity_id=str(slo.pk)).order_by("id")
                .values_list("changed_fields", flat=True))


def test_the_entity_is_written_only_when_status_or_band_moves():
    system, (a,) = checked_system()
    slo = objective(system, window_days=7)
    rollup(a, 1, runs=10_000, failures=0)
    assert slo_changes(slo) == [["budget_band", "name", "status", "system_id"]]  # created

    slos_evaluate(now=NOW)  # nothing spent: ok, band 100 as created
    results(a, at=NOW - timedelta(hours=10), count=1, bad=1)
    slos_evaluate(now=NOW)  # 1 of 10 allowed spent: band 90
    results(a, at=NOW - timedelta(hours=10, minutes=1), count=1, bad=1)
    slos_evaluate(now=NOW)  # 80 % left: band 80
    slos_evaluate(now=NOW + timedelta(minutes=1))  # no change

    assert slo_changes(slo) == [["budget_band", "name", "status", "system_id"], ["budget_band"], ["budget_band"]]
    slo.refresh_from_db()
    assert (slo.status, slo.budget_band) == ("ok", 80)


def test_a_fast_burn_pages_within_five_minutes_and_stops_when_it_stops():
    system, (a,) = checked_system()
    slo = objective(system, window_days=30)
    rollup(a, 1, runs=1_000_000, failures=0)  # plenty of budget: the burn, not the budget, decides
    start = NOW - timedelta(hours=2)
    results(a, at=start, count=120, step=timedelta(minutes=1))  # two good hours, one result a minute
    outage = NOW
    statuses = []
    for minute in range(0, 52):
        at = outage + timedelta(minutes=minute)
        results(a, at=at, count=1, bad=1 if minute < 20 else 0)  # failing for 20 minutes, then good
        slos_evaluate(now=at)
        slo.refresh_from_db()
        statuses.append(slo.status)

    # 1 h window: 1 bad of 61 is a burn of 16.4 from the first failure; 5 min window likewise: it pages at once.
    assert statuses[:20] == ["burning"] * 20
    # Good again from minute 20: the fast rule lets go when the 5 minute window is clean (minute 25), but the slow
    # one (6 h above 6 and 30 min above 6) holds while a failure is left in the last 30 minutes (minute 49).
    assert statuses[20:50] == ["burning"] * 30
    assert statuses[50:] == ["ok", "ok"]
    changes = [c.next["status"] for c in ChangeEvent.objects.filter(kind="slo", entity_id=str(slo.pk)).order_by("id")
               if "status" in c.changed_fields and c.prev]
    assert changes == ["burning", "ok"]


def test_a_short_spike_does_not_page():
    system, (a,) = checked_system()
    slo = objective(system, window_days=30)
    rollup(a, 1, runs=1_000_000, failures=0)
    results(a, at=NOW - timedelta(hours=6), count=360 * 60, step=timedelta(seconds=1))  # one a second
    results(a, at=NOW - timedelta(minutes=4), count=10, bad=10, step=timedelta(seconds=1))  # 10 s of failures

    # 5 min: 10 of 310 bad (burn 32); 1 h: 10 of 3,610 (2.8); 30 min 10 of 1,810 (5.5): no rule holds.
    assert shown(slo).status == "ok"
    assert shown(slo).burn_rate_1h == 2.77


def test_status_changed_is_derived_from_a_status_change_only():
    base = {"system_id": "s", "name": "avail", "status": "ok", "budget_band": 100}

    def change(prev, next_, fields):
        return Change(change_id="c", kind="slo", entity_id="o", prev=prev, next=next_, delta={},
                      changed_fields=fields, actor="system:slos", occurred_at=NOW)

    burning = {**base, "status": "burning", "budget_band": 90}
    events = derive_slo_events(change(base, burning, ["budget_band", "status"]))
    assert [(e.event, e.payload, e.context_key) for e in events] == [
        ("slo.status_changed", {"slo_id": "o", "system_id": "s", "name": "avail", "previous_status": "ok",
                                "new_status": "burning", "budget_band": 90}, "o")]
    assert derive_slo_events(change(base, {**base, "budget_band": 90}, ["budget_band"])) == []
    assert derive_slo_events(change(None, base, ["status"])) == []
    assert derive_slo_events(change(base, None, ["status"])) == []


def test_rollups_of_other_systems_do_not_count():
    system, (a,) = checked_system()
    other, (b,) = checked_system("Other")
    slo = objective(system, window_days=7)
    rollup(b, 1, runs=10, failures=10)
    assert CheckDailyRollup.objects.count() == 1
    assert shown(slo).budget_remaining_percent == 100.0


def test_a_pass_costs_the_same_statements_for_any_number_of_objectives():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def statements():
        with CaptureQueriesContext(connection) as queries:
            slos_evaluate(now=NOW)
        return len(queries)

    system, (a,) = checked_system()
    objective(system, window_days=7)
    objective(system, "fast", indicator="latency", latency_threshold_ms=100, window_days=30)
    results(a, at=NOW - timedelta(days=2), count=5)
    slos_evaluate(now=NOW)  # first tallies and states written
    few = statements()
    for n in range(10):
        other, (b,) = checked_system(f"S{n}")
        rollup(b, 1, runs=100, failures=0)
        objective(other, window_days=7 + n)
        objective(other, "fast", indicator="latency", latency_threshold_ms=100, window_days=30)
    slos_evaluate(now=NOW)
    # Latency objectives, the oldest result and the tallies kept (the fill, nothing to write); the objectives;
    # the roll-up sums and the tally sums; today's and the burn windows' results.
    assert statements() == few == 7
