"""locked_rows_write: the named fields of locked rows in one statement, every other column left as stored."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from checks.models import Check
from checks.row_writes import locked_rows_write

from .run_support import make_check, make_checked_system

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_only_the_named_fields_are_written_in_one_statement_and_no_row_is_added():
    system = make_checked_system()
    first, second = make_check(system, name="a"), make_check(system, name="b")
    lease = timezone.now() + timedelta(minutes=1)
    with transaction.atomic():
        rows = list(Check.objects.select_for_update().filter(pk__in=[first.pk, second.pk]).order_by("pk"))
        Check.objects.filter(pk=first.pk).update(name="renamed meanwhile", url="http://127.0.0.1:2/")
        for n, row in enumerate(rows):
            row.lease_until, row.consecutive_failures, row.name = lease, n + 4, "not written"
        with CaptureQueriesContext(connection) as queries:
            locked_rows_write(Check, rows, ["lease_until", "consecutive_failures"])

    assert len(queries) == 1
    stored = {pk: (name, url, until, failures) for pk, name, url, until, failures in Check.objects.values_list(
        "pk", "name", "url", "lease_until", "consecutive_failures")}
    by_order = sorted([first.pk, second.pk])
    assert stored[first.pk][:2] == ("renamed meanwhile", "http://127.0.0.1:2/")  # not the stale instance's
    assert stored[second.pk][:2] == ("b", second.url)
    assert {pk: stored[pk][2:] for pk in by_order} == {by_order[0]: (lease, 4), by_order[1]: (lease, 5)}
    assert Check.objects.count() == 2


def test_nothing_is_sent_for_no_rows():
    with CaptureQueriesContext(connection) as queries:
        locked_rows_write(Check, [], ["lease_until"])
    assert len(queries) == 0
