"""A run's steps drawn as a timeline (HTML and CSS only: no script, no CDN), for the run's admin page.

The branches of a `parallel` run at the same time: each has a row of its own (its span, from start to end)
and its steps carry its lane, so the branches' bars stand side by side over the same stretch of time.
"""

import re

from django.utils import timezone
from django.utils.html import format_html, format_html_join

COLOURS = {"succeeded": "#2f9e44", "failed": "#e03131", "running": "#1c7ed6", "waiting": "#f59f00",
           "skipped": "#adb5bd", "cancelled": "#868e96"}
MIN_WIDTH = 0.6  # percent: an instant step is still visible
LANE_COLOURS = ("#7048e8", "#0ca678", "#e8590c", "#1098ad", "#d6336c", "#5c940d")
_LANE = re.compile(r"^(.*\.parallel\.(\d+))(?:\.|$)")


def lane_of(path: str) -> tuple[str, int] | None:
    """The innermost `parallel` branch a step path is in (`actions.0.parallel.1`, 1), or None."""
    match = _LANE.match(path)
    return (match.group(1), int(match.group(2))) if match else None


class _BranchSpan:
    """A branch drawn as a row: its span from its first claim to its end."""

    kind = "branch"

    def __init__(self, branch):
        self.path = f"{branch.path}.parallel.{branch.index}"
        self.iteration, self.status, self.attempts = branch.iteration, branch.status, branch.attempts
        self.started_at, self.finished_at = branch.started_at, branch.finished_at


def timeline_bars(run, steps, branches=()) -> list[dict]:
    """Each step's bar (and each branch's): left offset and width as percentages of the run's span (pure)."""
    steps = [*steps, *(_BranchSpan(b) for b in branches)]
    starts = [s.started_at for s in steps if s.started_at]
    if not starts:
        return []
    begin = run.started_at or min(starts)
    end = run.finished_at or timezone.now()
    end = max([end, *[s.finished_at for s in steps if s.finished_at]])
    span = max((end - begin).total_seconds(), 0.001)
    # A branch's rows stay together, under its own row; the branches of one parallel follow each other.
    lane_start = {}
    for s in steps:
        if s.started_at and lane_of(s.path):
            key = lane_of(s.path)[0]
            lane_start[key] = min(lane_start.get(key, s.started_at), s.started_at)

    def order(s):
        lane = lane_of(s.path)
        start = s.started_at or end
        return (lane_start.get(lane[0], start) if lane else start, lane[0] if lane else "", s.kind != "branch",
                start, s.path)

    bars = []
    for step in sorted(steps, key=order):
        if step.started_at is None:
            continue
        finish = step.finished_at or end
        left = min(max(0.0, (step.started_at - begin).total_seconds() / span * 100), 100 - MIN_WIDTH)
        width = min(max(MIN_WIDTH, (finish - step.started_at).total_seconds() / span * 100), 100 - left)
        lane = lane_of(step.path)
        bars.append({"path": step.path + (f" [{step.iteration}]" if step.iteration else ""), "kind": step.kind,
                     "lane": f"branch {lane[1]}" if lane else "",
                     "lane_colour": LANE_COLOURS[lane[1] % len(LANE_COLOURS)] if lane else "transparent",
                     "status": step.status, "attempts": step.attempts, "left": round(left, 2), "width": round(width, 2),
                     "seconds": round((finish - step.started_at).total_seconds(), 3),
                     "colour": COLOURS.get(step.status, "#495057")})
    return bars


def timeline_html(run, steps, branches=()):
    bars = timeline_bars(run, steps, branches)
    if not bars:
        return "No step has started."
    rows = format_html_join(
        "",
        '<div class="tl-row" title="{} {}: {} ({} attempt(s), {} s)"><span class="tl-lane" style="border-color:{}">{}'
        '</span><span class="tl-label">{} <small>{}</small></span>'
        '<span class="tl-track"><span class="tl-bar tl-{}" style="left:{}%;width:{}%;background:{}">'
        "</span></span><span class=\"tl-meta\">{} · {} s</span></div>",
        ((b["path"], b["kind"], b["status"], b["attempts"], b["seconds"], b["lane_colour"], b["lane"], b["path"],
          b["kind"], b["status"],
          b["left"], b["width"], b["colour"], b["status"], b["seconds"]) for b in bars),
    )
    return format_html(
        "<style>.tl-row{{display:flex;align-items:center;gap:.5rem;margin:2px 0;font-size:12px}}"
        ".tl-lane{{width:4.5rem;border-left:4px solid;padding-left:3px;color:#666}}"
        ".tl-label{{width:16rem;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}}"
        # The admin's read-only box shrinks to its content: the track needs a width of its own.
        ".run-timeline{{width:100%;min-width:40rem}}"
        ".tl-track{{position:relative;flex:1;min-width:20rem;height:14px;background:#f1f3f5;border-radius:3px}}"
        ".tl-bar{{position:absolute;top:0;height:14px;border-radius:3px}}.tl-meta{{width:11rem;white-space:nowrap;color:#666}}</style>"
        '<div class="run-timeline">{}</div>', rows)
