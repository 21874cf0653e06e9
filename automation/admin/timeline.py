"""A run's steps drawn as a timeline (HTML and CSS only: no script, no CDN), for the run's admin page."""

from django.utils import timezone
from django.utils.html import format_html, format_html_join

COLOURS = {"succeeded": "#2f9e44", "failed": "#e03131", "running": "#1c7ed6", "waiting": "#f59f00",
           "skipped": "#adb5bd", "cancelled": "#868e96"}
MIN_WIDTH = 0.6  # percent: an instant step is still visible


def timeline_bars(run, steps) -> list[dict]:
    """Each step's bar: left offset and width as percentages of the run's span (pure, for tests)."""
    starts = [s.started_at for s in steps if s.started_at]
    if not starts:
        return []
    begin = run.started_at or min(starts)
    end = run.finished_at or timezone.now()
    end = max([end, *[s.finished_at for s in steps if s.finished_at]])
    span = max((end - begin).total_seconds(), 0.001)
    bars = []
    for step in sorted(steps, key=lambda s: (s.started_at or end, s.path)):
        if step.started_at is None:
            continue
        finish = step.finished_at or end
        left = min(max(0.0, (step.started_at - begin).total_seconds() / span * 100), 100 - MIN_WIDTH)
        width = min(max(MIN_WIDTH, (finish - step.started_at).total_seconds() / span * 100), 100 - left)
        bars.append({"path": step.path + (f" [{step.iteration}]" if step.iteration else ""), "kind": step.kind,
                     "status": step.status, "attempts": step.attempts, "left": round(left, 2), "width": round(width, 2),
                     "seconds": round((finish - step.started_at).total_seconds(), 3),
                     "colour": COLOURS.get(step.status, "#495057")})
    return bars


def timeline_html(run, steps):
    bars = timeline_bars(run, steps)
    if not bars:
        return "No step has started."
    rows = format_html_join(
        "",
        '<div class="tl-row" title="{} {}: {} ({} attempt(s), {} s)"><span class="tl-label">{} <small>{}</small>'
        '</span><span class="tl-track"><span class="tl-bar tl-{}" style="left:{}%;width:{}%;background:{}">'
        "</span></span><span class=\"tl-meta\">{} · {} s</span></div>",
        ((b["path"], b["kind"], b["status"], b["attempts"], b["seconds"], b["path"], b["kind"], b["status"],
          b["left"], b["width"], b["colour"], b["status"], b["seconds"]) for b in bars),
    )
    return format_html(
        "<style>.tl-row{{display:flex;align-items:center;gap:.5rem;margin:2px 0;font-size:12px}}"
        ".tl-label{{width:16rem;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}}"
        # The admin's read-only box shrinks to its content: the track needs a width of its own.
        ".run-timeline{{width:100%;min-width:40rem}}"
        ".tl-track{{position:relative;flex:1;min-width:20rem;height:14px;background:#f1f3f5;border-radius:3px}}"
        ".tl-bar{{position:absolute;top:0;height:14px;border-radius:3px}}.tl-meta{{width:11rem;white-space:nowrap;color:#666}}</style>"
        '<div class="run-timeline">{}</div>', rows)
