"""Counting the days a page's uptime bars draw: a <rect> per day with failures, a <path> per run of others."""

import re


def drawn_days(html: str, state: str = r"\w+") -> int:
    rects = len(re.findall(rf'<rect class="day {state}"', html))
    paths = sum(d.count("M") for d in re.findall(rf'<path class="day {state}" d="([^"]*)"', html))
    return rects + paths
