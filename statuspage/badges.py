"""Flat SVG badges for READMEs and wikis: a system's status and its 90-day uptime.

Drawn as a string like the page's bars (svg.py): two rectangles and two texts, every text escaped. The width
of each half is estimated from the text (about 6.5 px per character at 11 px Verdana, as shields.io's flat
style), so a long system name gets a wider badge rather than overflowing.
"""

from __future__ import annotations

from django.utils.html import escape
from django.utils.translation import gettext as _

COLOURS = {"healthy": "#2f9e44", "degraded": "#f59f00", "unhealthy": "#e03131", None: "#868e96"}
LABEL_COLOUR = "#555"
CHAR_WIDTH, PADDING = 6.5, 10


def _width(text: str) -> int:
    return int(len(text) * CHAR_WIDTH + 2 * PADDING)


def badge_svg(label: str, value: str, colour: str) -> str:
    """A flat two-part badge: grey label on the left, coloured value on the right."""
    left, right = _width(label), _width(value)
    total = left + right
    label_text, value_text = escape(label), escape(value)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" '
        f'aria-label="{label_text}: {value_text}"><title>{label_text}: {value_text}</title>'
        f'<rect width="{left}" height="20" fill="{LABEL_COLOUR}"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
        f'<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{left / 2}" y="14">{label_text}</text>'
        f'<text x="{left + right / 2}" y="14">{value_text}</text></g></svg>'
    )


def status_badge(name: str, status: str | None) -> str:
    words = {"healthy": _("healthy"), "degraded": _("degraded"), "unhealthy": _("unhealthy"), None: _("no data")}
    return badge_svg(name, words.get(status, _("no data")), COLOURS.get(status, COLOURS[None]))


def uptime_badge(percent: float | None) -> str:
    """The 90-day uptime, rounded down to two decimals; grey "no data" without check runs."""
    if percent is None:
        return badge_svg(_("uptime 90d"), _("no data"), COLOURS[None])
    colour = COLOURS["healthy"] if percent >= 99.9 else COLOURS["degraded"] if percent >= 99 else COLOURS["unhealthy"]
    return badge_svg(_("uptime 90d"), f"{percent:.2f}%", colour)
