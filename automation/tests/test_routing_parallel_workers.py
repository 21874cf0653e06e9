"""Several worker processes on one PostgreSQL route different entities in parallel, each entity in commit order."""

import itertools
import threading

import pytest
from django.db import connection

from automation.models import ChangeEvent, DerivedTriggerEvent
from automation.tests.support import routing_records
from catalog.models import System
from catalog.services import system_create, system_update
from testing.process_fixtures import start_workers, wait_for

pytestmark = pytest.mark.integration

ENTITIES = 5
WRITERS = 50
WRITES_EACH = 2
# Each routed change holds its routing transaction this long (a test consumer sleeps in it), so routing
# transactions last long enough to be seen overlapping on 2 cores.
HOLD_SECONDS = 0.05


def write_concurrently(systems: list[System]) -> list[Exception]:
    """WRITERS threads, each with its own connection, released together, writing to one system each in turn."""
    errors = []
    start = threading.Barrier(WRITERS)

    def writer(n: int):
        try:
            system = System.objects.get(pk=systems[n % ENTITIES].pk)
            start.wait(timeout=30)
            for k in range(WRITES_EACH):
                system_update(system=system, metadata={"writer": n, "write": k}, actor=f"user:w{n}")
        except Exception as exc:  # noqa: BLE001 - collected and asserted by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_three_workers_route_five_entities_in_parallel_each_in_commit_order(integration, tmp_path):
    # Given three worker processes and five systems
    workers = start_workers(tmp_path, ["w1", "w2", "w3"], CHECKSTACK_TEST_ROUTING_HOLD_SECONDS=HOLD_SECONDS)
    try:
        systems = [system_create(name=f"fleet-{i}", actor="system") for i in range(ENTITIES)]

        # When fifty writers update them at once
        assert write_concurrently(systems) == []
        total = ENTITIES * (1 + WRITERS // ENTITIES * WRITES_EACH)
        assert ChangeEvent.objects.count() == total
        wait_for(lambda: not ChangeEvent.objects.filter(routed_at=None).exists(), timeout=90,
                 what=f"the {total} changes to be routed")
    finally:
        for worker in workers:
            worker.stop()

    # Then every change was routed exactly once: one derived event and one routing record each
    events = list(ChangeEvent.objects.order_by("id").values("id", "change_id", "entity_id", "routed_at"))
    derived = list(DerivedTriggerEvent.objects.order_by("id").values_list("change_id", flat=True))
    assert sorted(derived) == [e["id"] for e in events]
    records = routing_records()
    assert sorted(r["change_id"] for r in records) == sorted(str(e["change_id"]) for e in events)

    # and per entity in commit order: derived rows (numbered as routing inserts them) follow the change ids
    for entity_id, group in itertools.groupby(sorted(events, key=lambda e: (e["entity_id"], e["id"])),
                                              key=lambda e: e["entity_id"]):
        ids = [e["id"] for e in group]
        assert [c for c in derived if c in set(ids)] == ids, f"system {entity_id} routed out of commit order"
        routed_at = [e["routed_at"] for e in events if e["id"] in set(ids)]
        assert routed_at == sorted(routed_at)

    # Per entity, one routing at a time (each held its entity's events locked while recording) ...
    by_entity = {}
    for record in sorted(records, key=lambda r: r["entered"]):
        by_entity.setdefault(record["entity"], []).append(record)
    for entity, routed in by_entity.items():
        for earlier, later in itertools.pairwise(routed):
            assert earlier["left"] <= later["entered"], f"{entity} was routed by two transactions at once"
    # ... while different entities were routed at the same time, by more than one worker process.
    assert len({r["worker"] for r in records}) >= 2, records
    overlapping = [
        (a, b) for a, b in itertools.combinations(records, 2)
        if a["entity"] != b["entity"] and a["entered"] < b["left"] and b["entered"] < a["left"]
    ]
    assert any(a["worker"] != b["worker"] for a, b in overlapping), "no two workers ever routed at the same time"
