"""Step kinds: each module gives `execute(walker, step, row, repeat)` and, if it has effects to re-apply
when a finished step is replayed, `replay(walker, step, row)`. One module per kind the validator knows."""

from importlib import import_module

from ....documents.steps import KINDS

_MODULES = {kind: import_module(f"{__name__}.{kind}") for kind in KINDS}

EXECUTORS = {kind: module.execute for kind, module in _MODULES.items()}
REPLAYERS = {kind: module.replay for kind, module in _MODULES.items() if hasattr(module, "replay")}
