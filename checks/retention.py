"""What the retention purge deletes of checks: results and their quarter-hour buckets older than
CHECKSTACK_RETAIN_CHECK_RESULTS_DAYS, and daily roll-ups older than CHECKSTACK_RETAIN_CHECK_ROLLUPS_DAYS.

Roll-ups outlive the results they summarise; the floor of 2 days leaves yesterday's results for its roll-up,
and the roll-ups' floor keeps the status page's 90 days whatever the settings say.
"""

from datetime import datetime, timedelta

from automation.retention import Purger, retention_register

from .buckets import purge_buckets
from .models import CheckResult
from .rollups import ROLLUPS_FLOOR, purge_rollups

RESULTS_FLOOR = timedelta(days=2)


def purge_check_results(*, cutoff: datetime, limit: int) -> int:
    """The oldest results before the cutoff, at most `limit` (index checkresult_at)."""
    ids = list(CheckResult.objects.filter(at__lt=cutoff).select_for_update(skip_locked=True)
               .order_by("at").values_list("pk", flat=True)[:limit])
    CheckResult.objects.filter(pk__in=ids).delete()
    return len(ids)


def register() -> None:
    retention_register(Purger("check_results", "CHECKSTACK_RETAIN_CHECK_RESULTS_DAYS", purge_check_results,
                              RESULTS_FLOOR))
    # The quarter-hour buckets go with the results they were counted from (the chart shows 24 hours of them).
    retention_register(Purger("check_buckets", "CHECKSTACK_RETAIN_CHECK_RESULTS_DAYS", purge_buckets,
                              RESULTS_FLOOR))
    retention_register(Purger("check_rollups", "CHECKSTACK_RETAIN_CHECK_ROLLUPS_DAYS", purge_rollups,
                              ROLLUPS_FLOOR))
