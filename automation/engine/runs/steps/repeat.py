"""`repeat`: count, for_each, while or until, bounded by max_iterations; progress recorded per iteration."""

from itertools import islice

from ....expressions.evaluate import evaluate, is_true
from ..outcomes import StepError


def _items(walker, spec, repeat, limit):
    # The loop below stops at `limit` anyway; reading no further keeps a count of 2,000,000,000 from being
    # built (and recorded) as a list first.
    if "count" in spec:
        count = spec["count"]
        if isinstance(count, str):
            count = evaluate(count, walker.scope(repeat=repeat))
        return list(range(min(int(count), limit)))
    if "for_each" in spec:
        items = spec["for_each"]
        if isinstance(items, str):
            items = evaluate(items, walker.scope(repeat=repeat))
        return list(islice(items, limit))
    return None  # while / until: decided per iteration


def execute(walker, step, row, repeat):
    spec = step["repeat"]
    limit = spec.get("max_iterations", 1000)
    progress = dict(row.result or {})
    if "items" not in progress:
        progress["items"] = _items(walker, spec, repeat, limit)
        walker.record(row, result=progress)
    items = progress["items"]
    entered = progress.get("entered", 0)
    index = 0
    while True:
        if items is not None and index >= len(items):
            break
        if index >= limit:
            if items is None:
                raise StepError(f"repeat stopped at max_iterations ({limit})")
            break
        item = items[index] if items is not None else None
        scope_repeat = {"index": index, "item": item, "first": index == 0}
        if items is None and index >= entered:
            scope = walker.scope(repeat=scope_repeat)
            if "while" in spec and not is_true(spec["while"], scope):
                break
        if index >= entered:
            entered = index + 1
            walker.record(row, result={**progress, "entered": entered})
            progress["entered"] = entered
        iteration = f"{row.iteration}.{index}" if row.iteration else str(index)
        walker.walk_steps(spec["sequence"], f"{row.path}.repeat.sequence", iteration, scope_repeat)
        # Iterations replayed after a crash already decided to go on; only the newest one asks `until`.
        if "until" in spec and index >= entered - 1 and is_true(spec["until"], walker.scope(repeat=scope_repeat)):
            index += 1
            break
        index += 1
    return {"iterations": index}
