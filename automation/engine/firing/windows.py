"""The `window` gate's facts from rows: count this occurrence, by the change's own time, and decide with
gates.window_gate (the rule routing, simulate, why and backtest share)."""

from django.utils import timezone

from ...columns import fit_key
from ...models import WindowHit
from . import gates


def window_count(firing, partition: str) -> gates.Gate:
    """Record this occurrence (of this partition) at the firing's `occurred_at` and decide on the occurrences
    in its window.

    The clock is the change's time, not the wall clock, so a change routed late (an outage, a backlog)
    counts where it happened, as replay and backtest count it. Occurrences later than this one (another
    entity of a shared partition routed first) do not count for it.
    """
    window = firing.trigger["window"]
    at = firing.occurred_at or timezone.now()
    start = gates.window_start(window, at)
    # A long key (a `partition_by` on a free-text field) is stored hashed: same key, same partition.
    key = fit_key(WindowHit, "partition_key", partition)
    hits = WindowHit.objects.filter(automation=firing.automation, trigger_id=firing.trigger["id"], partition_key=key)
    hits.filter(at__lt=start).delete()  # prune what fell out of the window
    WindowHit.objects.create(automation=firing.automation, trigger_id=firing.trigger["id"], partition_key=key, at=at)
    return gates.window_gate(window, hits.filter(at__gte=start, at__lte=at).count())

