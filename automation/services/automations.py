"""Writes of automations: create, update (a new version), enable/disable, delete.

Callers validate the document first with `automation.documents.validate.validate_document`; these functions
take the normalized document it returns.
"""

from django.db import transaction

from ..models import Automation, AutomationTrigger, AutomationVersion


def _columns(document: dict) -> dict:
    return {
        "name": document["name"],
        "enabled": document.get("enabled", True),
        "mode": document.get("mode", "single"),
        "concurrency_scope": document.get("concurrency_scope", "automation"),
        "max_runs": document.get("max_runs", 10),
    }


def _reindex(automation: Automation) -> None:
    """Rebuild Stage 1's index rows for the automation's current document."""
    AutomationTrigger.objects.filter(automation=automation).delete()
    AutomationTrigger.objects.bulk_create(
        AutomationTrigger(
            automation=automation, event=t["event"], trigger_id=t["id"], enabled=automation.enabled
        )
        for t in automation.document["triggers"]
    )


@transaction.atomic
def automation_create(*, document: dict, actor: str, run_as=None, managed_by: str = "") -> Automation:
    automation = Automation.objects.create(
        document=document, version=1, managed_by=managed_by, run_as=run_as, **_columns(document)
    )
    AutomationVersion.objects.create(automation=automation, version=1, document=document, created_by=actor)
    _reindex(automation)
    return automation


@transaction.atomic
def automation_update(*, automation: Automation, document: dict, actor: str, run_as=None) -> Automation:
    """Store a new version (runs already started keep theirs); an identical document changes nothing."""
    automation = Automation.objects.select_for_update().get(pk=automation.pk)
    if document == automation.document and (run_as is None or run_as == automation.run_as):
        return automation
    automation.document = document
    automation.version += 1
    if run_as is not None:
        automation.run_as = run_as
    for name, value in _columns(document).items():
        setattr(automation, name, value)
    automation.save()
    AutomationVersion.objects.create(
        automation=automation, version=automation.version, document=document, created_by=actor
    )
    _reindex(automation)
    return automation


@transaction.atomic
def automation_set_enabled(*, automation: Automation, enabled: bool, actor: str) -> Automation:
    """Enable or disable; the document's `enabled` follows so export round-trips."""
    automation = Automation.objects.select_for_update().get(pk=automation.pk)
    if automation.enabled == enabled:
        return automation
    return automation_update(automation=automation, document={**automation.document, "enabled": enabled}, actor=actor)


@transaction.atomic
def automation_delete(*, automation: Automation, actor: str) -> None:
    automation.delete()
