"""`health.system.in_maintenance` for automation expressions."""

import uuid

from django.utils import timezone

from automation.definitions import register_health_fact

from .models import MaintenanceWindow
from .selectors import covering_now


def system_in_maintenance(system_id: str) -> bool:
    """Whether a window covers the system now: in progress, or started and not yet moved there by beat."""
    try:
        system_id = uuid.UUID(str(system_id))
    except ValueError:
        return False  # a context key that is not a system id
    return MaintenanceWindow.objects.filter(covering_now(timezone.now()), system_links__system_id=system_id).exists()


def register() -> None:
    register_health_fact("in_maintenance", system_in_maintenance)
