def execute(walker, step, row, repeat):
    walker.walk_steps(step["sequence"], f"{row.path}.sequence", row.iteration, repeat)
    return {}
