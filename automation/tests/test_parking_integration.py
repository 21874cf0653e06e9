"""Parking with real workers (docs/operations.md, Parked changes): a poisoned change, raising or killing the worker that
routes it, is parked after its attempts (a killed worker's attempt counts), its system's later changes route in order,
other systems are untouched, and `changes_replay` routes it once the poison is gone."""

import subprocess
import sys

import pytest

from automation.models import ChangeEvent, DerivedTriggerEvent
from automation.tests.support import POISON_KEY, seen_client
from catalog.services import system_create, system_update
from testing.process_fixtures import BASE_DIR, process_env, start_beat, start_worker, wait_for

pytestmark = pytest.mark.integration

PARKING = dict(CHECKSTACK_TEST_POISON_DERIVER="1", CHECKSTACK_PARK_AFTER_ATTEMPTS=3, CHECKSTACK_PARK_AFTER_SECONDS=1)


def changes_of(system):
    return list(ChangeEvent.objects.filter(kind="system", entity_id=str(system.pk)).order_by("id"))


def test_poisoned_changes_are_parked_the_rest_routes_in_order_and_replay_routes_them(integration, tmp_path):
    # Given workers and beat (its sweeper re-sends what a killed worker lost) with small park settings
    seen_client().set(POISON_KEY, "1")
    procs = [start_worker(tmp_path, **PARKING), start_beat(tmp_path, **PARKING)]
    try:
        # When two poisoned systems and a clean one are created, then each changed twice
        raising, killing, clean = (system_create(name=f"{prefix}api", actor="system")
                                   for prefix in ("poison-raise-", "poison-kill-", "fine-"))
        for system in (raising, killing, clean):
            for n in range(2):
                system_update(system=system, metadata={"n": n}, actor="system")
        wait_for(lambda: not ChangeEvent.objects.filter(routed_at=None, parked_at=None).exists(), timeout=45,
                 what="every change routed or parked")
    finally:
        for proc in procs:
            proc.stop()

    # Then each poisoned creation is parked after its attempts (the killed worker's ones counted too) ...
    for system in (raising, killing):
        poisoned, *later = changes_of(system)
        assert poisoned.parked_at is not None and poisoned.routed_at is None
        assert poisoned.routing_attempts >= 3, poisoned.routing_attempts
        # ... and its later changes routed, in commit order (derived rows are numbered as routing inserts them)
        assert all(c.routed_at is not None for c in later)
        derived = list(DerivedTriggerEvent.objects.filter(change__in=later).order_by("id")
                       .values_list("change_id", flat=True).distinct())
        assert list(dict.fromkeys(derived)) == [c.id for c in later]
    assert "RuntimeError: poisoned change" in changes_of(raising)[0].last_routing_error
    # Other systems are unaffected: routed on the first attempt
    assert all(c.routed_at is not None and c.routing_attempts == 1 for c in changes_of(clean))

    # When the poison is gone and the parked changes are replayed
    seen_client().delete(POISON_KEY)
    replay = subprocess.run([sys.executable, "manage.py", "changes_replay", "--all-parked"], cwd=BASE_DIR,
                            env=process_env(**PARKING), capture_output=True, text=True, timeout=60)

    # Then both are routed
    assert replay.returncode == 0, replay.stderr
    for system in (raising, killing):
        poisoned = changes_of(system)[0]
        assert poisoned.routed_at is not None and poisoned.parked_at is None
