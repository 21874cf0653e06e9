"""What the retention purge deletes of checks: results older than CHECKSTACK_RETAIN_CHECK_RESULTS_DAYS.

Daily roll-ups are kept (they summarise the purged results); the floor of 2 days leaves yesterday's results
for its roll-up whatever the setting says.
"""

from datetime import datetime, timedelta

from automation.retention import Purger, retention_register

from .models import CheckResult

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
