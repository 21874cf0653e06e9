"""`parallel`: every branch runs (in order, in this worker); the step fails if any branch failed."""

from ..walker import StepError


def execute(walker, step, row, repeat):
    errors = []
    for index, branch in enumerate(step["parallel"]):
        path = f"{row.path}.parallel.{index}"
        try:
            if isinstance(branch, list):
                walker.walk_steps(branch, f"{path}.sequence", row.iteration, repeat)
            else:
                walker.walk_step(branch, path, row.iteration, repeat)
        except StepError as exc:
            errors.append(str(exc))
    if errors:
        raise StepError("; ".join(errors))
    return {"branches": len(step["parallel"])}
