"""What integration-test workers add (`celery worker -I automation.tests.worker_plugin`).

`register()` adds a work_queue subscriber on `system` changes that appends each change id it handles to a Redis
list, so a test can see exactly which changes a real worker delivered, and how many times.
"""

import json
import logging
import time

import redis
from django.conf import settings
from pydantic import BaseModel, ConfigDict

from automation.definitions import ActionDefinition, ActionOutcome, definitions
from automation.entities.registry import Delivery, subscribe

SEEN_KEY = "checkstack-tests:system-changes-seen"


def seen_client() -> redis.Redis:
    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def _record(change):
    seen_client().rpush(SEEN_KEY, change.change_id)


def register() -> None:
    subscribe("system", _record, name="tests.redis_recorder", delivery=Delivery.WORK_QUEUE)


ROUTED_KEY = "checkstack-tests:routed-by"


def holding_routing_recorder(hold_seconds: float):
    """A trigger consumer recording which worker routed each change, while it held the entity's events locked.

    It runs inside the routing transaction, after the entity's unrouted events are locked, and holds that
    transaction open for `hold_seconds`: two records of one entity can then never overlap in time, and two
    of different entities that overlap were routed in parallel.
    """

    def applier(change):
        def record(_trigger_rows):
            from celery import current_task

            entered = time.time()
            time.sleep(hold_seconds)
            seen_client().rpush(ROUTED_KEY, json.dumps({
                "change_id": change.change_id, "entity": f"{change.kind}:{change.entity_id}",
                "worker": current_task.request.hostname, "entered": entered, "left": time.time(),
            }))

        return record

    def consume(batch):
        return [applier(change) for change, _derived in batch]

    return consume


def routing_records() -> list[dict]:
    return [json.loads(raw) for raw in seen_client().lrange(ROUTED_KEY, 0, -1)]


FIRED_KEY = "checkstack-tests:timers-fired"


def record_timer(timer):
    seen_client().rpush(FIRED_KEY, str(timer.pk))


class FailConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str


def _fail(config, consumed, context):
    logging.getLogger("checkstack.automation").warning("test.fail: %s", config.text)
    return ActionOutcome.fail(f"told to fail: {config.text}")


def register_failing_action() -> None:
    """`test.fail`: an action that logs its (templated) text and fails with it; the text may carry a secret."""
    definitions.actions["test.fail"] = ActionDefinition(
        id="test.fail", description="fails with its text", config_schema=FailConfig, execute=_fail,
        secret_fields=("text",))


def _explode(config, consumed, context):
    raise RuntimeError(f"poison: {config.text}")


def _kill_own_process(config, consumed, context):
    import os

    os._exit(137)  # the prefork child dies mid-step, as on an OOM kill


def register_fault_actions() -> None:
    """`test.explode` raises; `test.kill_worker` kills the worker process running it (fault-injection tests)."""
    for action_id, execute in (("test.explode", _explode), ("test.kill_worker", _kill_own_process)):
        definitions.actions[action_id] = ActionDefinition(
            id=action_id, description=action_id, config_schema=FailConfig, execute=execute)


POISON_KEY = "checkstack-tests:poisoned"


def poison_deriver(change):
    """A test-only deriver: while the poison flag is set in Redis, the creation of a system named
    `poison-raise-*` raises and that of `poison-kill-*` kills the worker process routing it."""
    import os

    name = (change.next or {}).get("name") or ""
    if change.prev is None and name.startswith("poison-") and seen_client().exists(POISON_KEY):
        if name.startswith("poison-kill-"):
            os._exit(1)  # as a poison that exhausts memory or segfaults would
        if name.startswith("poison-raise-"):
            raise RuntimeError(f"poisoned change of {name}")
    return []
