"""The status page's monthly uptime line: per system and month from the roll-ups, "no data" without runs."""

from datetime import UTC, date, datetime

import pytest
from django.template.loader import render_to_string

from checks.models import CheckDailyRollup
from checks.slos.monthly import monthly_uptime

from .slo_support import checked_system

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


def test_months_from_rollups_one_query(django_assert_num_queries):
    shop, (a, b) = checked_system("Shop", checks=2)
    blog, (c,) = checked_system("Blog")
    for check, day, runs, failures in [(a, date(2026, 1, 31), 1000, 1), (b, date(2026, 1, 1), 1000, 0),
                                       (a, date(2026, 3, 10), 100, 100), (c, date(2025, 12, 31), 5, 5),
                                       (c, date(2026, 2, 28), 3, 0)]:
        CheckDailyRollup.objects.create(check_ref=check, day=day, runs=runs, failures=failures)

    with django_assert_num_queries(1):
        lines = monthly_uptime(systems=[shop, blog], now=NOW)

    assert [(line["name"], [(m.month, m.text) for m in line["months"]]) for line in lines] == [
        ("Shop", [(date(2026, 1, 1), "99.95 %"), (date(2026, 2, 1), "no data"), (date(2026, 3, 1), "0.00 %")]),
        ("Blog", [(date(2026, 1, 1), "no data"), (date(2026, 2, 1), "100.00 %"), (date(2026, 3, 1), "no data")]),
    ]
    html = render_to_string("status/_monthly_uptime.html", {"monthly_uptime": lines})
    assert "<th scope=\"row\">Shop</th><td>99.95 %</td><td>no data</td><td>0.00 %</td>" in html
    assert "January 2026" in html
