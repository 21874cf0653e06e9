"""The entity-mutation service: the one door every write of reactive state goes through.

Lock the entity row, snapshot `prev`, run the domain write, diff against `next`, and write the field
transitions plus one change event in the same transaction. After commit, a worker is woken to route it.
"""

import uuid
from functools import partial
from typing import Any, Callable

from django.db import transaction
from django.utils import timezone

from ..masking import mask
from ..models import ChangeEvent
from ..sql.changes import write_change
from ..sql.rows import lock_row
from ..sql.transactions import transaction_begun
from .actor import current_acting
from .delivery import wake_router
from .diff import diff_states
from .registry import EntityKind, entity_kind
from .tracked import mutating


def entity_mutate(
    *,
    kind: str,
    entity_id: Any,
    write: Callable[[Any], Any],
    actor: str | None = None,
    depth: int | None = None,
    deleting: bool = False,
) -> tuple[Any, ChangeEvent | None]:
    """Run `write(locked_instance_or_None)` as a tracked change of one entity.

    `write` returns the instance after the write, or None when it deleted it. Returns that result and
    the change event written (None when nothing tracked changed). Joins the caller's transaction; a failed
    write inside a block that had run nothing yet leaves that block to roll back whole (as Django's
    `savepoint=False` does), one inside a block that had rolls back to its savepoint.
    `deleting`: the write deletes the entity, so its row is locked FOR UPDATE from the start.
    """
    spec = entity_kind(kind)
    entity_id = str(entity_id)
    acting = current_acting()
    # A savepoint keeps what the caller's transaction did before this write when the write fails. In a
    # block that has sent nothing yet (a service's own outermost one) there is nothing to keep: the failure
    # rolls the block back whole, and SAVEPOINT and RELEASE were two of every tracked write's seven statements.
    with transaction.atomic(savepoint=transaction_begun()):
        # A write that keeps the row locks it FOR NO KEY UPDATE: enough to serialise the entity's writes, and
        # rows inserted meanwhile that reference it (an incident's update, a system's check; FOR KEY SHARE)
        # neither wait on it nor make it wait, the lock-wait shape routing's automation lock shed. A delete
        # takes FOR UPDATE at once, as its DELETE would: a row referencing the entity must wait for it
        # (then fail its foreign key) rather than slip in between the cascade's reads and the DELETE.
        current = lock_row(spec.model, entity_id, no_key=not deleting)
        prev = spec.state(current) if current is not None else None
        with mutating(kind, entity_id):
            after = write(current)
        next_ = spec.state(after) if after is not None else None
        event = _record_change(
            spec,
            entity_id=entity_id,
            prev=prev,
            next_=next_,
            actor=actor or acting.actor,
            depth=acting.depth if depth is None else depth,
        )
    return after, event


def _record_change(spec: EntityKind, *, entity_id, prev, next_, actor, depth) -> ChangeEvent | None:
    if prev is None and next_ is None:
        return None
    # A secret an automation resolved must not reach the change log through the state it wrote.
    prev, next_ = mask(prev), mask(next_)
    changed, delta = diff_states(prev, next_)
    if not changed:
        return None
    now = timezone.now()
    change_id = uuid.uuid4()
    prev_values = prev or {}
    event = write_change(
        {"change_id": change_id, "kind": spec.kind, "entity_id": entity_id, "prev": prev, "next": next_,
         "delta": delta, "changed_fields": changed, "actor": actor, "depth": depth, "occurred_at": now},
        [
            {"kind": spec.kind, "entity_id": entity_id, "field": name, "from_value": prev_values.get(name),
             "to_value": None if next_ is None else next_.get(name), "at": now, "actor": actor,
             "change_id": change_id}
            for name in changed
        ],
    )
    transaction.on_commit(partial(wake_router, str(change_id)), robust=True)
    return event
