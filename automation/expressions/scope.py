"""The scope expressions see. Entity state (`state.<kind>[<id>]`, `health.*`) is read lazily, when an
expression touches it, and every read is recorded so a waiting run knows which changes may wake it."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from ..definitions import definitions
from ..entities import history
from ..entities.registry import read_entity, registry
from .sandbox import READS_KEY


@dataclass
class EntityReads:
    """Entities an evaluation read, and whether its result can change with time alone."""

    entities: set = field(default_factory=set)
    time_dependent: bool = False


class _Lazy:
    """Base of scope objects: reads go through `_read`, which records them."""

    def __init__(self, reads: EntityReads | None, now: datetime):
        self._reads, self._now = reads, now

    def _read(self, kind: str, entity_id) -> dict | None:
        if entity_id is None:
            return None
        if self._reads is not None:
            self._reads.entities.add((kind, str(entity_id)))
        try:
            return read_entity(kind, str(entity_id))
        except (LookupError, ValueError, TypeError):
            return None
        except Exception as exc:  # a malformed id (e.g. not a UUID) is simply no entity
            if type(exc).__name__ == "ValidationError":
                return None
            raise


class KindState(_Lazy):
    """`state.<kind>`: index it with an id."""

    def __init__(self, kind, reads, now):
        super().__init__(reads, now)
        self.kind = kind

    def __getitem__(self, entity_id):
        return self._read(self.kind, entity_id)


class State(_Lazy):
    """`state`: one accessor per registered entity kind."""

    def __getitem__(self, kind):
        if kind not in registry.kinds:
            raise KeyError(kind)
        return KindState(kind, self._reads, self._now)


class SystemHealth(_Lazy):
    """`health.system` / `health.systems[<id>]`: a system's health and facts about it."""

    def __init__(self, system_id, reads, now):
        super().__init__(reads, now)
        self.system_id = None if system_id is None else str(system_id)
        self._state = ...

    def _current(self) -> dict:
        if self._state is ...:
            self._state = self._read("health", self.system_id) or {}
        return self._state

    @property
    def status(self):
        return self._current().get("status")

    @property
    def message(self):
        return self._current().get("message")

    @property
    def latency_ms(self):
        """The reported latency; for a system its checks manage, the newest check result's (checks/facts.py)."""
        reported = self._current().get("latency_ms")
        measured = definitions.health_facts.get("measured_latency_ms")
        if measured is None or self.system_id is None:
            return reported
        if self._reads is not None:
            self._reads.time_dependent = True  # a new result changes it without a change event
        value = measured(self.system_id)
        return reported if value is None else value

    @property
    def impact_status(self):
        """The status as the system's dependencies make it: the `impact` entity, kept for systems with
        dependency edges; a system without any has none, its impact being its own health status."""
        impact = self._read("impact", self.system_id)
        return impact.get("status") if impact is not None else self.status

    @property
    def impacted_by(self):
        """Ids of the systems whose health made this one's impact status worse (sorted; empty if none)."""
        return list((self._read("impact", self.system_id) or {}).get("impacted_by") or [])

    @property
    def in_status_since(self):
        self._current()  # a status change wakes whoever asked
        if self.system_id is None:
            return None
        return history.in_state_since(kind="health", entity_id=self.system_id, field="status")

    @property
    def in_status_for_seconds(self):
        since = self.in_status_since
        if self._reads is not None:
            self._reads.time_dependent = True
        return None if since is None else (self._now - since).total_seconds()

    def transitions_in_window(self, minutes=60):
        """How many times the status changed in the last `minutes`."""
        self._current()
        if self._reads is not None:
            self._reads.time_dependent = True
        if self.system_id is None:
            return 0
        return history.transition_count(kind="health", entity_id=self.system_id, field="status",
                                        window=timedelta(minutes=float(minutes)), now=self._now)

    def __getitem__(self, name):
        fact = definitions.health_facts.get(name)
        if fact is None or self.system_id is None:
            raise KeyError(name)
        if self._reads is not None:
            self._reads.time_dependent = True  # facts such as in_maintenance change with the clock
        return fact(self.system_id)


class Systems(_Lazy):
    def __getitem__(self, system_id):
        return SystemHealth(system_id, self._reads, self._now)


class Health(_Lazy):
    def __init__(self, system_id, reads, now):
        super().__init__(reads, now)
        self.system = SystemHealth(system_id, reads, now)
        self.systems = Systems(reads, now)


def build_scope(*, trigger: dict, variables: dict, artifacts: dict, now: datetime | None,
                context_system_id: str | None, repeat=None, resume=None, wait=None,
                reads: EntityReads | None = None) -> dict:
    now = now or timezone.now()
    return {
        "trigger": trigger,
        "variables": variables,
        "artifacts": artifacts,
        "repeat": repeat,
        "resume": resume or {"payload": None},
        "wait": wait or {"completed": None, "timed_out": None},
        "now": now,
        "state": State(reads, now),
        "health": Health(context_system_id, reads, now),
        READS_KEY: reads,
    }
