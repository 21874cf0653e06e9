"""Counting the days a page's uptime bars draw: a <rect> per day with failures, one per run of other days."""

import re


def drawn_days(html: str, state: str = r"\w+") -> int:
    marks = re.findall(rf'<rect class="day {state}"[^>]*>', html)
    return sum(int(m.group(1)) if (m := re.search(r'data-days="(\d+)"', mark)) else 1 for mark in marks)
