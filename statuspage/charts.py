"""A system's 24-hour response-time chart as SVG geometry: pure functions of its quarter-hour series.

svg.py draws what these return; each point's tooltip is its SVG <title>, and the chart has a text alternative
in its aria-label. (The 90-day bar is bars.py.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from checks.uptime import BUCKET, LatencyBucket

CHART_WIDTH, CHART_HEIGHT = 718, 130
PLOT_LEFT, PLOT_TOP, PLOT_BOTTOM = 48, 8, 112  # room for the y labels on the left and the times below


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    avg_ms: int | None  # None: every run of the quarter hour failed without a response (drawn on the 0 line)
    title: str
    failed: bool


def nice_ceiling(value: float) -> int:
    """The axis top: 1, 2 or 5 times a power of ten, at least the value (and at least 10 ms)."""
    value = max(value, 10)
    power = 10 ** math.floor(math.log10(value))
    return next(int(step * power) for step in (1, 2, 5, 10) if step * power >= value)


def _bucket_title(bucket: LatencyBucket, end: datetime) -> str:
    text = f"{bucket.start:%H:%M}–{end:%H:%M} UTC: "
    text += "no response" if bucket.avg_ms is None else f"average {round(bucket.avg_ms)} ms"
    if bucket.p95_ms is not None:
        text += f", 95th percentile {round(bucket.p95_ms)} ms"
    text += f" ({bucket.tally.runs} check{'s' * (bucket.tally.runs != 1)}"
    return text + (f", {bucket.tally.failures} failed)" if bucket.tally.failures else ")")


def _polylines(coordinates: list[tuple[float, float] | None]) -> list[str]:
    """SVG polyline `points` strings, one per run of measured buckets (a gap breaks the line)."""
    runs, current = [], []
    for xy in [*coordinates, None]:
        if xy is not None:
            current.append(f"{xy[0]},{xy[1]}")
        elif current:
            runs.append(" ".join(current))
            current = []
    return runs


def _label(series: list[LatencyBucket], points: list[Point]) -> str:
    measured = [b for b in series if b.avg_ms is not None]
    if not measured:
        return "Response time over the last 24 hours: no measurements."
    runs = sum(b.tally.runs for b in measured)
    average = sum(b.avg_ms * b.tally.runs for b in measured) / runs
    return (f"Response time over the last 24 hours: average about {round(average)} ms, highest quarter-hour "
            f"average {max(p.avg_ms for p in points if p.avg_ms is not None)} ms.")


def latency_chart(series: list[LatencyBucket]) -> dict:
    """Average latency per bucket as points on a line (broken where nothing was measured), p95 as a fainter line;
    a quarter hour whose runs all failed without a response is a red point on the 0 line."""
    top = nice_ceiling(max((b.p95_ms or b.avg_ms for b in series if b.avg_ms is not None), default=0))
    step = (CHART_WIDTH - PLOT_LEFT) / max(len(series), 1)

    def y(ms: float) -> float:
        return round(PLOT_BOTTOM - ms / top * (PLOT_BOTTOM - PLOT_TOP), 1)

    points, averages, p95s = [], [], []
    for n, bucket in enumerate(series):
        x = round(PLOT_LEFT + (n + 0.5) * step, 1)
        if bucket.avg_ms is None:
            averages.append(None)
            p95s.append(None)
            if bucket.tally.failures:
                points.append(Point(x, PLOT_BOTTOM, None, _bucket_title(bucket, bucket.start + BUCKET), True))
            continue
        points.append(Point(x, y(bucket.avg_ms), round(bucket.avg_ms), _bucket_title(bucket, bucket.start + BUCKET),
                            bool(bucket.tally.failures)))
        averages.append((x, y(bucket.avg_ms)))
        p95s.append((x, y(bucket.p95_ms if bucket.p95_ms is not None else bucket.avg_ms)))
    ticks = [{"x": round(PLOT_LEFT + n * step, 1), "text": f"{series[n].start:%H:%M}"}
             for n in range(0, len(series) - 8, 16)]  # every 4 hours; none too near the right edge
    return {"width": CHART_WIDTH, "height": CHART_HEIGHT, "points": points, "lines": _polylines(averages),
            "p95_lines": _polylines(p95s), "top": top, "mid": top // 2, "label": _label(series, points),
            "plot_left": PLOT_LEFT, "plot_top": PLOT_TOP, "plot_bottom": PLOT_BOTTOM,
            "mid_y": (PLOT_TOP + PLOT_BOTTOM) / 2, "ticks": ticks}
