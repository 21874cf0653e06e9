"""Stage 1: which triggers the trigger events of one routing transaction fire, found through the index and
decided by their filters without locks; then the automations that passed locked once, together.

A filter miss costs a read of its index row (and only when the index cannot rule the row out), never a lock
or a write; a filter error costs one counter UPDATE on its index row.
"""

from dataclasses import dataclass, field

from django.db.models import F
from django.utils import timezone

from ...columns import fit_text
from ...definitions import trigger_filter
from ...models import Automation, AutomationTrigger
from ...sql.firing import automations_lock, trigger_rows_matching
from ..scope import firing_scope
from .gates import filter_gate
from .trigger_index import payload_keys


@dataclass(frozen=True)
class Arrival:
    """A trigger event reaching Stage 1, with what its filter sees besides the payload."""

    event: str
    payload: dict
    actor: str


@dataclass(frozen=True)
class Passed:
    """A trigger whose filter passed on an arrival, with its automation locked and current."""

    automation: Automation
    trigger: dict


@dataclass
class FilterErrors:
    """The filter errors of one routing transaction, by (automation id, trigger id): count and last message."""

    counts: dict = field(default_factory=dict)
    last: dict = field(default_factory=dict)

    def add(self, automation_id, trigger_id: str, message: str) -> None:
        key = (automation_id, trigger_id)
        self.counts[key] = self.counts.get(key, 0) + 1
        self.last[key] = message

    def record(self) -> None:
        """One UPDATE per erring trigger, in key order; no lock on the automation row."""
        now = timezone.now()
        for automation_id, trigger_id in sorted(self.counts, key=lambda key: (str(key[0]), key[1])):
            key = (automation_id, trigger_id)
            AutomationTrigger.objects.filter(automation_id=automation_id, trigger_id=trigger_id).update(
                filter_errors=F("filter_errors") + self.counts[key],
                last_filter_error=fit_text(AutomationTrigger, "last_filter_error", self.last[key]),
                last_filter_error_at=now)


def listeners_of(arrivals: list[Arrival]) -> list[list[AutomationTrigger]]:
    """Per arrival, the enabled index rows its payload may match (a null key, or one of its keys), each with
    its automation as read now: one statement for all of them (none for no arrival), no lock."""
    if not arrivals:
        return []
    keys = [payload_keys(arrival.payload) for arrival in arrivals]
    every_key = sorted(set().union(*keys))
    rows = trigger_rows_matching(events=sorted({a.event for a in arrivals}), keys=every_key)
    return [[row for row in rows if row.event == arrival.event and (
        row.index_key is None or row.index_key in own or row.index_field in own)]
        for arrival, own in zip(arrivals, keys, strict=True)]


def firings_of(arrivals: list[Arrival]) -> list[list[Passed]]:
    """Per arrival, the triggers that fire (their filter passed), their automations locked and current.

    The filters are evaluated on what Stage 1 read, without locks; then every automation that passed, for
    all the arrivals, is locked in one statement in primary-key order: two transactions firing the same
    automations, whatever the order of their events, take the locks in the same order and cannot deadlock.
    An automation edited since Stage 1 read it has its filter evaluated again on its current document.
    """
    errors = FilterErrors()
    passed = []
    for arrival, rows in zip(arrivals, listeners_of(arrivals), strict=True):
        found = []
        for row in rows:
            trigger = _trigger_of(row.automation, row.trigger_id, arrival.event)
            if trigger is not None and _filter_passes(row.automation, trigger, arrival, errors):
                found.append((row.automation, trigger))
        passed.append(found)
    locked = automations_locked({automation.pk for found in passed for automation, _ in found})
    current = [[fired for automation, trigger in found
                if (fired := _recheck(automation, trigger, locked, arrival, errors)) is not None]
               for arrival, found in zip(arrivals, passed, strict=True)]
    # After the automation locks: an automation edit locks its automation, then deletes its index rows;
    # counting here in the same order cannot deadlock with it.
    errors.record()
    return current


def automations_locked(pks: set) -> dict:
    """Lock these automations, in primary-key order and in one statement, and read them current (with
    their run_as user); by primary key."""
    if not pks:
        return {}
    rows = automations_lock(pks=list(pks))
    return {automation.pk: automation for automation in rows}


def _recheck(read: Automation, trigger: dict, locked: dict, arrival: Arrival, errors: FilterErrors) -> Passed | None:
    automation = locked.get(read.pk)
    if automation is None or not automation.enabled:
        return None  # deleted or disabled since Stage 1 read it
    if automation.version == read.version:
        return Passed(automation, trigger)
    trigger = _trigger_of(automation, trigger["id"], arrival.event)
    if trigger is None or not _filter_passes(automation, trigger, arrival, errors):
        return None
    return Passed(automation, trigger)


def _trigger_of(automation: Automation, trigger_id: str, event: str) -> dict | None:
    trigger = next((t for t in automation.document["triggers"] if t["id"] == trigger_id), None)
    return trigger if trigger is not None and trigger["event"] == event else None


def _filter_passes(automation: Automation, trigger: dict, arrival: Arrival, errors: FilterErrors) -> bool:
    if not trigger_filter(trigger):
        return True
    scope = firing_scope(trigger_id=trigger["id"], event=arrival.event, actor=arrival.actor, payload=arrival.payload)
    gate = filter_gate(trigger, scope)
    if gate.error is not None:
        errors.add(automation.pk, trigger["id"], gate.error)
    return gate.passed
