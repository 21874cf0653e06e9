"""The firing: a trigger event reaching one trigger of one automation, as Stage 2 decides it."""

from dataclasses import dataclass
from datetime import datetime

from ...models import Automation


@dataclass(frozen=True)
class Firing:
    """A trigger event reaching one trigger of one automation."""

    automation: Automation
    trigger: dict  # the trigger's entry in the document
    event: str
    payload: dict
    context_key: str | None
    firing_key: str | None  # change id / schedule tick; None for manual runs
    actor: str
    depth: int = 0
    occurred_at: datetime | None = None  # the change's / tick's time: the window's clock (None: now)
