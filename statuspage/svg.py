"""The uptime bar and the response-time chart as inline SVG markup, from the geometry in charts.py.

Built as strings, not in a template: a page with dozens of systems draws thousands of marks, and a template
loop per mark cost more than everything else on the page together. Every text is escaped.
"""

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


def _grid(chart: dict) -> str:
    left, right, label_x = chart["plot_left"], chart["width"], chart["plot_left"] - 6
    rows = ((chart["plot_top"], f'{chart["top"]} ms'), (chart["mid_y"], f'{chart["mid"]} ms'),
            (chart["plot_bottom"], "0 ms"))
    lines = "".join(f'<line x1="{left}" x2="{right}" y1="{y}" y2="{y}"/>' for y, _ in rows)
    labels = "".join(f'<text x="{label_x}" y="{y}" dy="4" text-anchor="end">{text}</text>' for y, text in rows)
    ticks = "".join(f'<text x="{t["x"]}" y="{chart["height"] - 2}">{t["text"]}</text>' for t in chart["ticks"])
    return f'<g class="grid" aria-hidden="true">{lines}{labels}{ticks}</g>'


def _point(point) -> str:
    css = "point failed" if point.failed else "point"
    data = "" if point.avg_ms is None else f' data-avg-ms="{point.avg_ms}"'
    return (f'<circle class="{css}" cx="{point.x}" cy="{point.y}" r="2.5"{data}>'
            f"<title>{escape(point.title)}</title></circle>")


def latency_chart_svg(chart: dict) -> SafeString:
    """Average response time per quarter hour as points on a line; the fainter dashed line is the p95."""
    label = escape(chart["label"])
    p95 = "".join(f'<polyline class="p95" points="{points}"/>' for points in chart["p95_lines"])
    avg = "".join(f'<polyline class="avg" points="{points}"/>' for points in chart["lines"])
    points = "".join(_point(p) for p in chart["points"])
    return mark_safe(f'<svg class="latency-chart" viewBox="0 0 {chart["width"]} {chart["height"]}" role="img" '
                     f'aria-label="{label}"><title>{label}</title>{_grid(chart)}{p95}{avg}{points}</svg>')
