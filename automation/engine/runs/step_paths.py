"""Steps by kind and by path: what kind a step is, and which step a row's path names."""

from ...documents.steps import KINDS

# Step kinds that contain other steps: re-entering them after a crash is not a new attempt.
CONTAINER_KINDS = {"sequence", "choose", "parallel", "repeat"}
STEP_KINDS = tuple(KINDS)


def step_kind(step: dict) -> str:
    return next(k for k in STEP_KINDS if k in step)


def step_at(document: dict, path: str) -> dict:
    """The step a row's path names, e.g. `actions.1.choose.0.sequence.2` or `actions.0.parallel.1.sequence.0`."""
    parts = path.split(".")
    node = document[parts[0]]
    for part in parts[1:]:
        if isinstance(node, list) and part == "sequence":
            continue  # a parallel branch written as a bare list of steps
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node
