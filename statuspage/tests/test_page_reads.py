"""What the page reads of the catalog as plain rows: one row per system whatever its checks, its impact as the
catalog decides it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.impact_graph import Impact
from catalog.models import Dependency
from catalog.selectors import impact_from, system_impact
from catalog.services import health_report, system_create
from checks.models import Check
from statuspage.catalog_reads import systems_for_page


def test_impact_comes_from_the_row_and_without_one_from_the_systems_own_health():
    assert impact_from(row=("degraded", ["a", "b"]), health_status="healthy") == Impact("degraded", ("a", "b"))
    assert impact_from(row=None, health_status="unhealthy") == Impact("unhealthy")
    assert impact_from(row=None, health_status=None) == Impact(None)


@pytest.mark.django_db
@pytest.mark.postgres
def test_each_system_is_one_row_with_its_checks_health_and_impact():
    # Given a system with two checks that depends on a down one, one without checks, one never reported
    db, shop, bare = (system_create(name=n, actor="system") for n in ("Database", "Shop", "Bare"))
    Dependency.objects.create(system=shop, depends_on=db, impact="full")
    health_report(system=shop, status="healthy", message="fine", actor="system")
    health_report(system=db, status="unhealthy", actor="system")
    checks = [Check.objects.create(system=shop, name=n, kind="http", url="http://127.0.0.1:9/") for n in "ab"]

    # When the page reads them
    with CaptureQueriesContext(connection) as queries:
        rows = systems_for_page()

    # Then: one query, one row per system by name, the impact the catalog gives the model instances
    assert len(queries) == 1
    assert [row.name for row in rows] == ["Bare", "Database", "Shop"]
    bare_row, db_row, shop_row = rows
    assert sorted(shop_row.check_ids) == sorted(str(c.pk) for c in checks)
    assert bare_row.check_ids == [] and db_row.check_ids == []
    assert (shop_row.status, shop_row.message, shop_row.source) == ("healthy", "fine", "reported")
    shop.refresh_from_db()
    assert (shop_row.impact_status, shop_row.impacted_by) == ("unhealthy", (str(db.pk),))
    assert system_impact(system=shop) == Impact("unhealthy", (str(db.pk),))
    assert (bare_row.status, bare_row.impact_status, bare_row.message, bare_row.source) == (None, None, "", None)
    assert systems_for_page(pk=bare.pk) == [bare_row]
