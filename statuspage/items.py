"""A system's entry on the public pages, as HTML built in Python.

Built as strings, not in a template, for the reason svg.py gives: a page of 500 systems rendered through a
template include per system cost more than everything else on the page. Every text that comes from data is
escaped (`html.escape`; the fixed markup around it is ours); every word goes through the translation
functions, looked up once per page rather than once per system.
"""

from __future__ import annotations

from html import escape

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from checks.uptime import percent_text

from .bars import uptime_bar_markup
from .charts import latency_chart
from .selectors import PublicSystem
from .svg import latency_chart_svg

PLACEHOLDER = "00000000-0000-0000-0000-000000000000"


def page_words() -> dict:
    """The words of a system's entry in the request's language (status None: before the first report)."""
    return {"healthy": _("healthy"), "degraded": _("degraded"), "unhealthy": _("unhealthy"), None: _("No data"),
            "uptime": _("Uptime"), "24h": _("24 hours"), "30d": _("30 days"), "90d": _("90 days"),
            "ago": _("90 days ago"), "today": _("Today"), "affected": _("affected by %(names)s"),
            "chart": _("Response time, last 24 hours (average per 15 minutes; lighter line: 95th percentile)")}


def status_word(status: str | None) -> str:
    words = page_words()
    return words.get(status) or words[None]


def _history(system: PublicSystem, words: dict) -> str:
    uptime = system.uptime
    periods = ((words["24h"], uptime.last_24h), (words["30d"], uptime.last_30d), (words["90d"], uptime.last_90d))
    figures = "".join(f"<span>{escape(label)}: <strong>{percent_text(tally.percent)}</strong></span>"
                      for label, tally in periods)
    chart = ""
    if uptime.series:  # a system's own page
        caption = f'<p class="muted chart-caption">{escape(words["chart"])}</p>'
        chart = caption + latency_chart_svg(latency_chart(uptime.series))
    return (f'<div class="history"><p class="uptime">{escape(words["uptime"])} {figures}</p>'
            f'{uptime_bar_markup(dates=uptime.dates, tallies=uptime.tallies)}'
            f'<p class="axis muted"><span>{escape(words["ago"])}</span><span>{escape(words["today"])}</span></p>'
            f"{chart}</div>")


def system_item(system: PublicSystem, *, link: str | None = None, words: dict | None = None) -> SafeString:
    """One system's <li>: name (linked to its page when it has checks), status, impact note, message, history."""
    words = words or page_words()
    name = f"<strong>{escape(system.name)}</strong>"
    if link:
        name = f'<a href="{escape(link)}">{name}</a>'
    status = system.impact_status
    note = (f'<span class="impact-note">{escape(words["affected"] % {"names": ", ".join(system.impacted_by)})}'
            "</span>" if system.impacted_by else "")
    message = f'<span class="muted">{escape(system.message)}</span>' if system.message else ""
    history = _history(system, words) if system.uptime else ""
    badge = f'<span class="badge {status or "unknown"}">{escape(words.get(status) or words[None])}</span>'
    return SafeString(f'<li class="system">{name} {badge} {note}{message}{history}</li>')


def system_items(systems: list[PublicSystem]) -> SafeString:
    """The <li> of each system, linked to its page (the link built once, not reversed per system)."""
    base = reverse("statuspage:system", args=[PLACEHOLDER])
    words = page_words()
    return mark_safe("".join(system_item(s, link=base.replace(PLACEHOLDER, s.id) if s.uptime else None,
                                         words=words) for s in systems))
