"""Loaded (-I) only by the embedded tests' worker: a broadcast subscriber on health changes.

It appends each change id to CHECKSTACK_TEST_BROADCAST_LOG, so a test sees that the broadcast reached the
worker. Appending one short line is atomic (O_APPEND), whichever prefork child runs it.
"""

import os

from automation.entities.registry import Change, Delivery, subscribe


def record_broadcast(change: Change) -> None:
    with open(os.environ["CHECKSTACK_TEST_BROADCAST_LOG"], "a") as log:
        log.write(f"{change.change_id}\n")


subscribe("health", record_broadcast, name="tests.record_broadcast", delivery=Delivery.BROADCAST)
