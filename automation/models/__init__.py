from .automations import Automation, AutomationTrigger, AutomationVersion, ConcurrencyScope, Mode
from .branches import OPEN_BRANCH_STATUSES, BranchStatus, RunBranch
from .changes import ChangeEvent, DerivedTriggerEvent, SubscriptionDelivery, Transition
from .runs import ACTIVE_STATUSES, TERMINAL_STATUSES, Artifact, Run, RunStatus, RunStep, StepStatus
from .secrets import Secret
from .waiting import Dwell, Timer, Wait, WaitRead, WindowHit

__all__ = [
    "ACTIVE_STATUSES",
    "TERMINAL_STATUSES",
    "Artifact",
    "Automation",
    "BranchStatus",
    "OPEN_BRANCH_STATUSES",
    "RunBranch",
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
