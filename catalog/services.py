"""Writes of systems and their health, each through the entity-mutation service."""

from django.db import transaction

from automation.entities.mutation import entity_mutate

from .models import System, SystemHealth


def system_create(*, name: str, description: str = "", metadata: dict | None = None, actor: str) -> System:
    system = System(name=name, description=description, metadata=metadata or {})

    def write(_current):
        system.save(force_insert=True)
        return system

    entity_mutate(kind="system", entity_id=system.pk, write=write, actor=actor)
    return system


def system_update(*, system: System, actor: str, **fields) -> System:
    """Set the given fields (name, description, metadata) and save."""

    def write(_current):
        for name, value in fields.items():
            setattr(system, name, value)
        system.save()
        return system

    entity_mutate(kind="system", entity_id=system.pk, write=write, actor=actor)
    return system


@transaction.atomic
def system_delete(*, system: System, actor: str) -> None:
    """Delete a system and its health; incidents and windows drop it when they see the tombstone."""
    health = SystemHealth.objects.filter(pk=system.pk).first()
    if health is not None:
        entity_mutate(kind="health", entity_id=system.pk, write=lambda _c: health.delete() and None, actor=actor)
    entity_mutate(kind="system", entity_id=system.pk, write=lambda _c: system.delete() and None, actor=actor)


def health_report(
    *, system: System, status: str, message: str = "", latency_ms: int | None = None, actor: str
) -> SystemHealth:
    """Record a system's current health (creating its health row on the first report)."""

    def write(current: SystemHealth | None):
        health = current or SystemHealth(system=system)
        health.status = status
        health.message = message
        health.latency_ms = latency_ms
        health.save()
        return health

    health, _event = entity_mutate(kind="health", entity_id=system.pk, write=write, actor=actor)
    return health
