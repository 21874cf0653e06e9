"""`parallel`: fork the cursor into one branch per entry, walked at the same time by any workers
(engine/branches.py); when the last branch ends, merge what they left in branch order and go on.

The step fails if any branch failed. Variables set in branches are merged into the scope in branch order,
whichever branch finished first, so a run's result does not depend on timing; artifacts produced in
branches are visible after the step.
"""

from ....models import Artifact, BranchStatus, RunBranch
from ..outcomes import Forked, StepError


def execute(walker, step, row, repeat):
    branches = list(RunBranch.objects.filter(run=walker.run, path=row.path, iteration=row.iteration).order_by("index"))
    if not branches:
        walker.fork(row, count=len(step["parallel"]), repeat=repeat)
    if any(branch.is_open for branch in branches):
        raise Forked()  # not joined yet (the cursor is only reopened once every branch has ended)
    errors = [f"branch {b.index}: {b.error}" for b in branches if b.status == BranchStatus.FAILED]
    if errors:
        raise StepError("; ".join(errors))
    variables, artifacts = {}, []
    for branch in branches:
        variables.update(branch.result.get("variables", {}))
        artifacts.extend(branch.result.get("artifacts", []))
    result = {"branches": len(branches), "variables": variables, "artifacts": artifacts}
    _merge(walker, result)
    return result


def replay(walker, step, row):
    _merge(walker, row.result)


def _merge(walker, result: dict) -> None:
    variables = result.get("variables", {})
    walker.state.variables.update(variables)
    walker.state.assigned.update(variables)
    known = {a.pk for a in walker.state.artifact_rows}
    for artifact in Artifact.objects.filter(pk__in=result.get("artifacts", [])).order_by("id"):
        if artifact.pk not in known:
            walker.state.artifact_rows.append(artifact)
            walker.state.artifacts.setdefault(artifact.step_id, {})[artifact.type] = artifact.data
