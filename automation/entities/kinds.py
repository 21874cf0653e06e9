"""The engine's own entity kind: `automation` (the audit trail of automation changes)."""

from .registry import EntityKind, register_entity_kind


def automation_state(automation) -> dict:
    return {
        "name": automation.name,
        "enabled": automation.enabled,
        "version": automation.version,
        "managed_by": automation.managed_by,
        "run_as": automation.run_as.get_username() if automation.run_as_id else None,
    }


def register() -> None:
    from ..models import Automation

    register_entity_kind(EntityKind(kind="automation", model=Automation, state=automation_state))
