"""Database invariants every fault-injection test checks once the system is quiet again (docs/architecture.md)."""

from collections import defaultdict
from datetime import timedelta

from django.db.models import Count
from django.utils import timezone

from automation.models import ACTIVE_STATUSES, ChangeEvent, DerivedTriggerEvent, Run, Timer, Transition


def transition_gaps() -> list[str]:
    """Per entity and field, each transition starts where the previous one ended."""
    last, gaps = {}, []
    for t in Transition.objects.order_by("id").values("kind", "entity_id", "field", "from_value", "to_value", "id"):
        key = (t["kind"], t["entity_id"], t["field"])
        if key in last and last[key] != t["from_value"]:
            gaps.append(f"{key}: transition {t['id']} starts at {t['from_value']!r}, previous ended at {last[key]!r}")
        last[key] = t["to_value"]
    return gaps


def check_invariants(*, receiver=None) -> None:
    """Assert every invariant; `receiver` (a testing.http_receiver.Receiver) adds the idempotency-key one."""
    assert transition_gaps() == []
    unrouted = ChangeEvent.objects.filter(routed_at=None).count()
    assert unrouted == 0, f"{unrouted} change event(s) never routed"
    derived_twice = DerivedTriggerEvent.objects.values("change", "event").annotate(n=Count("id")).filter(n__gt=1)
    assert not derived_twice.exists(), "a change event was routed twice"
    doubled = Run.objects.exclude(firing_key=None).values("automation", "firing_key", "trigger_id") \
        .annotate(n=Count("id")).filter(n__gt=1)
    assert not doubled.exists(), "two runs (or skips) for one (automation, firing, trigger)"
    active = list(Run.objects.filter(status__in=ACTIVE_STATUSES).values_list("pk", "status"))
    assert active == [], f"runs not terminal after quiescence: {active}"
    overdue = Timer.objects.filter(fired_at=None, due_at__lt=timezone.now() - timedelta(seconds=5)).count()
    assert overdue == 0, f"{overdue} timer(s) overdue and never fired"
    if receiver is not None:
        keys_by_step = defaultdict(set)
        for key in receiver.idempotency_keys():
            run_id, path, _iteration = key.split(":", 2)
            keys_by_step[(run_id, path)].add(key)
        assert all(len(keys) == 1 for keys in keys_by_step.values()), keys_by_step

