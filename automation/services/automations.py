"""Writes of automations: create, update (a new version), enable/disable, delete.

Each is a tracked change of the `automation` entity (who changed which automation, when). A document an
editor saves comes through `automation.services.automation_save` (validation, name, permissions); create
and update take its normalized document.
"""

from django.db import transaction

from foundation.service_errors import ServiceConflict

from ..definitions import trigger_filter
from ..engine.firing.trigger_index import index_of
from ..entities.mutation import entity_mutate
from ..models import Automation, AutomationTrigger, AutomationVersion, Run


def _columns(document: dict) -> dict:
    return {
        "name": document["name"],
        "enabled": document.get("enabled", True),
        "mode": document.get("mode", "single"),
        "concurrency_scope": document.get("concurrency_scope", "automation"),
        "max_runs": document.get("max_runs", 10),
    }


def _reindex(automation: Automation) -> None:
    """Rebuild Stage 1's index rows for the automation's current document (a new filter: errors reset).

    A schedule's last decided tick is carried over: a tick decided before the edit stays decided.
    """
    old_rows = AutomationTrigger.objects.filter(automation=automation)
    last_ticks = dict(old_rows.filter(last_tick__isnull=False).values_list("trigger_id", "last_tick"))
    old_rows.delete()
    rows = []
    for trigger in automation.document["triggers"]:
        key, field = index_of(trigger_filter(trigger))
        rows.append(AutomationTrigger(automation=automation, event=trigger["event"], trigger_id=trigger["id"],
                                      enabled=automation.enabled, index_key=key, index_field=field,
                                      last_tick=last_ticks.get(trigger["id"])))
    AutomationTrigger.objects.bulk_create(rows)


@transaction.atomic
def automation_create(*, document: dict, actor: str, run_as=None, managed_by: str = "") -> Automation:
    automation = Automation(document=document, version=1, managed_by=managed_by, run_as=run_as, **_columns(document))

    def write(_current):
        automation.save(force_insert=True)
        AutomationVersion.objects.create(automation=automation, version=1, document=document, created_by=actor)
        _reindex(automation)
        return automation

    entity_mutate(kind="automation", entity_id=automation.pk, write=write, actor=actor)
    return automation


class AutomationConflict(ServiceConflict):
    """The automation changed since the version the editor started from."""

    def __init__(self, expected: int, current: int):
        super().__init__(f"the automation is at version {current}, not {expected}: someone else changed it; "
                         "reload it and apply your change again")
        self.expected, self.current = expected, current

    def fields(self) -> dict:
        return {"version": self.current}


@transaction.atomic
def automation_update(*, automation: Automation, document: dict, actor: str, run_as=None,
                      expected_version: int | None = None) -> Automation:
    """Store a new version (runs already started keep theirs); an identical document changes nothing.

    With `expected_version`, refuse (AutomationConflict) unless the locked row is still at that version:
    two editors who both loaded version 3 cannot both save over it.
    """

    def write(current: Automation):
        if expected_version is not None and current.version != expected_version:
            raise AutomationConflict(expected_version, current.version)
        if document == current.document and (run_as is None or run_as == current.run_as):
            return current
        current.document = document
        current.version += 1
        if run_as is not None:
            current.run_as = run_as
        for name, value in _columns(document).items():
            setattr(current, name, value)
        current.save()
        AutomationVersion.objects.create(
            automation=current, version=current.version, document=document, created_by=actor
        )
        _reindex(current)
        return current

    updated, _event = entity_mutate(kind="automation", entity_id=automation.pk, write=write, actor=actor)
    return updated


@transaction.atomic
def automation_set_enabled(*, automation: Automation, enabled: bool, actor: str) -> Automation:
    """Enable or disable; the document's `enabled` follows so export round-trips."""
    current = Automation.objects.get(pk=automation.pk)
    if current.enabled == enabled:
        return current
    return automation_update(automation=current, document={**current.document, "enabled": enabled}, actor=actor)


@transaction.atomic
def automation_delete(*, automation: Automation, actor: str) -> None:
    def write(current):
        # Lock its runs before the cascade deletes their steps: a worker locks its run, then writes a step,
        # so taking the steps first would deadlock with it. Running runs end with LeaseLost at their next write.
        list(Run.objects.select_for_update().filter(automation=current).order_by("pk").values_list("pk", flat=True))
        current.delete()
        return None

    entity_mutate(kind="automation", entity_id=automation.pk, write=write, actor=actor, deleting=True)
