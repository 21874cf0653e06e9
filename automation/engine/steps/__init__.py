"""Step kinds: each module gives `execute(walker, step, row, repeat)` and, if it has effects to re-apply
when a finished step is replayed, `replay(walker, step, row)`."""

from . import action, choose, condition, delay, parallel, repeat, sequence, stop, variables, wait_for_trigger, wait_until

_MODULES = {
    "action": action,
    "choose": choose,
    "condition": condition,
    "parallel": parallel,
    "repeat": repeat,
    "sequence": sequence,
    "stop": stop,
    "variables": variables,
    "delay": delay,
    "wait_until": wait_until,
    "wait_for_trigger": wait_for_trigger,
}

EXECUTORS = {kind: module.execute for kind, module in _MODULES.items()}
REPLAYERS = {kind: module.replay for kind, module in _MODULES.items() if hasattr(module, "replay")}
