"""A dwell's deadline: its timer fires, and the run starts unless the change log shows a break since arming."""

import logging

from django.db import transaction

from ...models import Automation, Dwell, Timer
from ..waiting.timers import timer_kind_register
from .dwells import dwell_broken_since_armed, dwell_trigger
from .firings import Firing
from .routing import after_time_gates

logger = logging.getLogger(__name__)


@transaction.atomic
def dwell_fire(*, dwell_id) -> None:
    """The deadline came: start the run unless the change log shows a break since arming."""
    # The automation before the dwell: routing locks the automations it fires first and then breaks dwells,
    # so taking the dwell first here could deadlock with it.
    automation_id = Dwell.objects.filter(pk=dwell_id).values_list("automation_id", flat=True).first()
    automation = Automation.objects.select_for_update(of=("self",), no_key=True).select_related("run_as") \
        .filter(pk=automation_id).first() if automation_id else None
    dwell = Dwell.objects.select_for_update().filter(pk=dwell_id).first() if automation else None
    if dwell is None:
        return
    dwell.automation = automation
    broken = dwell_broken_since_armed(dwell)
    trigger = dwell_trigger(dwell)
    dwell.delete()
    if broken or trigger is None or not automation.enabled:
        return
    firing = Firing(automation=automation, trigger=trigger, event=dwell.event, payload=dwell.payload,
                    context_key=dwell.context_key or None, firing_key=dwell.firing_key or None, actor=dwell.actor,
                    depth=dwell.depth, occurred_at=dwell.armed_at)
    after_time_gates(firing)


def dwell_due(timer: Timer) -> None:
    dwell_fire(dwell_id=timer.owner)


def dwell_drop(timer: Timer, reason: str) -> None:
    """Its timer failed every attempt. No run exists yet: dropping the dwell lets the next qualifying event
    arm a fresh one."""
    Dwell.objects.filter(pk=timer.owner).delete()
    logger.error("dwell %s dropped: %s", timer.owner, reason)


def register() -> None:
    timer_kind_register(Timer.Kind.DWELL, fire=dwell_due, give_up=dwell_drop)
