"""The status page's uptime bar and response-time chart as SVG geometry: pure functions of the uptime figures.

svg.py draws what these return; each mark's tooltip is its SVG <title>, and each chart has a text alternative
in its aria-label.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from checks.uptime import (
    BUCKET,
    DayUptime,
    LatencyBucket,
    SystemUptime,
    Tally,
    percent_text,
)

from .svg import bar_svg, day_rect_svg, latency_chart_svg

BAR_WIDTH, BAR_GAP, BAR_HEIGHT = 6, 2, 34
CHART_WIDTH, CHART_HEIGHT = 718, 130
PLOT_LEFT, PLOT_TOP, PLOT_BOTTOM = 48, 8, 112  # room for the y labels on the left and the times below
# A day with failures reads "partial" down to this uptime, "down" below it.
PARTIAL_FROM_PERCENT = 99.0


@dataclass(frozen=True)
class Bar:
    x: int
    state: str  # up, partial, down, nodata: the CSS class
    title: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    avg_ms: int | None  # None: every run of the quarter hour failed without a response (drawn on the 0 line)
    title: str
    failed: bool


def day_state(day: DayUptime) -> str:
    percent = day.tally.percent
    if percent is None:
        return "nodata"
    if not day.tally.failures:
        return "up"
    return "partial" if percent >= PARTIAL_FROM_PERCENT else "down"


def _day_title(day: DayUptime) -> str:
    text = f"{day.day:%Y-%m-%d}: {percent_text(day.tally.percent)}"
    if day.tally.runs:
        text += f" up ({day.tally.failures} of {day.tally.runs} checks failed)"
    return text


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


def _bar_label_of(dates: list[date], tallies: list[tuple[int, int]]) -> str:
    """The bar's text alternative: counts, and the most recent days with failures (screen readers do not
    reach the bars' own titles inside an image)."""
    failing = [DayUptime(day, Tally(tally[0], tally[1])) for day, tally in zip(dates, tallies) if tally[1]]
    empty = sum(1 for tally in tallies if not tally[0])
    label = (f"Uptime over the last {len(dates)} days: {_days(len(failing))} with failures, "
             f"{_days(empty)} without data.")
    if failing:
        recent = ", ".join(f"{d.day:%Y-%m-%d} {percent_text(d.tally.percent)}" for d in reversed(failing[-5:]))
        label += f" Most recent failures: {recent}."
    return label


@lru_cache(maxsize=65_536)
def _bar(n: int, day: date, runs: int, failures: int) -> Bar:
    # Memoised: across a fleet most days read alike (same runs, no failure), and a page of 500 systems draws
    # 45,000 of them.
    uptime = DayUptime(day, Tally(runs, failures))
    return Bar(x=n * (BAR_WIDTH + BAR_GAP), state=day_state(uptime), title=_day_title(uptime))


@lru_cache(maxsize=65_536)
def _day_rect(n: int, day: date, runs: int, failures: int) -> str:
    return day_rect_svg(_bar(n, day, runs, failures), BAR_WIDTH, BAR_HEIGHT)


def uptime_bar_markup(*, dates: list[date], tallies: list) -> SafeString:
    """The bar's SVG straight from (runs, failures) pairs: one memoised string per day (the fleet page's path)."""
    rects = "".join([_day_rect(n, day, tally[0], tally[1]) for n, (day, tally) in enumerate(zip(dates, tallies))])
    return bar_svg(label=_bar_label_of(dates, tallies), width=len(dates) * (BAR_WIDTH + BAR_GAP) - BAR_GAP,
                   height=BAR_HEIGHT, rects=rects)


def uptime_bar(days: list[DayUptime]) -> dict:
    return uptime_bar_of(dates=[d.day for d in days], tallies=[tuple(d.tally) for d in days])


def uptime_bar_of(*, dates: list[date], tallies: list[tuple[int, int]]) -> dict:
    """The bar of these days from their (runs, failures): what uptime_bar draws, without a DayUptime per day."""
    bars = [_bar(n, day, runs, failures) for n, (day, (runs, failures)) in enumerate(zip(dates, tallies))]
    label = _bar_label_of(dates, tallies)
    return {"bars": bars, "width": len(dates) * (BAR_WIDTH + BAR_GAP) - BAR_GAP, "height": BAR_HEIGHT,
            "bar_width": BAR_WIDTH, "label": label}


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


def system_history(uptime: SystemUptime) -> dict:
    """What a page shows of one system with checks: the percentages, the bar and (with a series) the chart."""
    return {"uptime": [(_("24 hours"), percent_text(uptime.last_24h.percent)),
                       (_("30 days"), percent_text(uptime.last_30d.percent)),
                       (_("90 days"), percent_text(uptime.last_90d.percent))],
            "bar": uptime_bar_markup(dates=uptime.dates, tallies=uptime.tallies),
            "chart": latency_chart_svg(latency_chart(uptime.series)) if uptime.series else None}
