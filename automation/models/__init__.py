# The change log first: tracked models (Automation among them) import the mutation service, which needs it.
from .changes import ChangeEvent, DerivedTriggerEvent, SubscriptionDelivery, Transition  # isort: skip
from .automations import Automation, AutomationTrigger, AutomationVersion, ConcurrencyScope, Mode
from .secrets import Secret
from .waiting import Dwell, Timer, Wait, WaitRead, WindowHit
from .runs import ACTIVE_STATUSES, TERMINAL_STATUSES, Artifact, Run, RunStatus, RunStep, StepStatus

__all__ = [
    "ACTIVE_STATUSES",
    "TERMINAL_STATUSES",
    "Artifact",
    "Automation",
    "AutomationTrigger",
    "AutomationVersion",
    "ChangeEvent",
    "ConcurrencyScope",
    "DerivedTriggerEvent",
    "Mode",
    "Run",
    "RunStatus",
    "RunStep",
    "StepStatus",
    "SubscriptionDelivery",
    "Transition",
    "Secret",
    "Dwell",
    "Timer",
    "Wait",
    "WaitRead",
    "WindowHit",
]
