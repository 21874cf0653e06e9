"""The row a domain action acts on, resolved one way for every app's actions: the config's explicit id wins
over the upstream artifact's; what can go wrong on the way (no id, no such row, the service refusing the
input, the row deleted before the service locked it) becomes a failed outcome with a message, not an error."""

import uuid
from dataclasses import dataclass
from typing import Callable

from django.core.exceptions import ValidationError
from django.db import models

from .definitions import ActionOutcome


def validation_message(exc: ValidationError) -> str:
    """A service's ValidationError as one line for a failed outcome."""
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)


@dataclass(frozen=True)
class ActionTarget:
    model: type[models.Model]
    artifact: str  # the artifact type naming the row, e.g. "incident"
    id_field: str  # the config field and the artifact's key holding the row's id, e.g. "incident_id"
    label: str  # the row in messages, e.g. "Incident"
    no_target: str  # the failure when neither the config nor an upstream artifact names a row

    def resolve(self, explicit: str | None, consumed: dict) -> models.Model | str:
        """The row to act on, or the failure message."""
        raw = (explicit or "").strip() or (consumed.get(self.artifact) or {}).get(self.id_field)
        if not raw:
            return self.no_target
        try:
            return self.model.objects.get(pk=uuid.UUID(str(raw)))
        except (ValueError, self.model.DoesNotExist):
            return f"{self.label} {raw} not found"

    def act(self, target: models.Model | str, write: Callable[[models.Model], ActionOutcome]) -> ActionOutcome:
        """`write(target)`, or the failed outcome of a target that did not resolve or a write refused."""
        if isinstance(target, str):
            return ActionOutcome.fail(target)
        try:
            return write(target)
        except self.model.DoesNotExist:
            return ActionOutcome.fail(f"{self.label} {target.pk} not found")
        except ValidationError as exc:
            return ActionOutcome.fail(validation_message(exc))

    def on_target(self, config, consumed: dict, write: Callable[[models.Model], ActionOutcome]) -> ActionOutcome:
        """`write` on the row the action's config (its `id_field`) or the upstream artifact names."""
        return self.act(self.resolve(getattr(config, self.id_field), consumed), write)
