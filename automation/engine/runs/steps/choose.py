"""`choose`: the first option whose `when` holds runs its sequence, else `else`; the choice is recorded."""

from ....expressions.evaluate import is_true


def execute(walker, step, row, repeat):
    branch = row.result.get("branch") if row.result else None
    if branch is None:
        scope = walker.scope(repeat=repeat)
        branch = next((i for i, option in enumerate(step["choose"]) if is_true(option["when"], scope)), "else")
        walker.record(row, result={"branch": branch})
    if branch == "else":
        walker.walk_steps(step.get("else") or [], f"{row.path}.else", row.iteration, repeat)
    else:
        walker.walk_steps(step["choose"][branch]["sequence"], f"{row.path}.choose.{branch}.sequence",
                          row.iteration, repeat)
    return {"branch": branch}
