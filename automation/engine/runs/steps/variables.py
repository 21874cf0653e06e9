"""`variables`: set run variables (values rendered as templates); recorded so a replay sees the same."""

from ....expressions.evaluate import render_config


def execute(walker, step, row, repeat):
    values = render_config(step["variables"], walker.scope(repeat=repeat))
    walker.state.variables.update(values)
    walker.state.assigned.update(values)
    return {"variables": values}


def replay(walker, step, row):
    walker.state.variables.update(row.result.get("variables", {}))
    walker.state.assigned.update(row.result.get("variables", {}))
