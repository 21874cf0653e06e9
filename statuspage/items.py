"""A system's entry on the public pages, as HTML built in Python.

Built as strings, not in a template, for the reason svg.py gives: a page of 500 systems rendered through a
template include per system cost more than everything else on the page. Every text that comes from data is
escaped (`html.escape`; the fixed markup around it is ours); every word goes through the translation
functions, looked up once per page rather than once per system.
"""

from __future__ import annotations

from functools import lru_cache
from html import escape

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from checks.uptime import percent_text

from .bars import uptime_bar_markup
from .charts import latency_chart
from .selectors import PublicSystem
from .svg import latency_chart_svg

PLACEHOLDER = "00000000-0000-0000-0000-000000000000"


def page_words() -> dict:
    """The words of a system's entry in the request's language (status None: before the first report)."""
    return _page_words(get_language())


@lru_cache(maxsize=16)
def _page_words(language: str | None) -> dict:
    # Looked up once per language and process: the template's status filter asks for them per group.
    return {"healthy": _("healthy"), "degraded": _("degraded"), "unhealthy": _("unhealthy"), None: _("No data"),
            "uptime": _("Uptime"), "24h": _("24 hours"), "30d": _("30 days"), "90d": _("90 days"),
            "ago": _("90 days ago"), "today": _("Today"), "affected": _("affected by %(names)s"),
            "chart": _("Response time, last 24 hours (average per 15 minutes; lighter line: 95th percentile)")}


@lru_cache(maxsize=16)
def _markup(language: str | None) -> dict:
    """The fixed markup of an entry with its words escaped, once per language: a 500-system page repeats it."""
    words = _page_words(language)
    badges = {status: f'<span class="badge {status or "unknown"}">{escape(words[status])}</span>'
              for status in ("healthy", "degraded", "unhealthy", None)}
    return {"badges": badges, "periods": tuple(f"<span>{escape(words[key])}: <strong>" for key in
                                               ("24h", "30d", "90d")),
            "uptime": f'<div class="history"><p class="uptime">{escape(words["uptime"])} ',
            "axis": (f'<p class="axis muted"><span>{escape(words["ago"])}</span>'
                     f'<span>{escape(words["today"])}</span></p>'),
            "chart": f'<p class="muted chart-caption">{escape(words["chart"])}</p>'}


def status_word(status: str | None) -> str:
    words = page_words()
    return words.get(status) or words[None]


def _history(system: PublicSystem, markup: dict, language: str | None) -> str:
    uptime = system.uptime
    day, month, quarter = markup["periods"]
    # percent_text is digits, a point and " %" (or "no data"): nothing to escape.
    figures = (f"{day}{percent_text(uptime.last_24h.percent)}</strong></span>"
               f"{month}{percent_text(uptime.last_30d.percent)}</strong></span>"
               f"{quarter}{percent_text(uptime.last_90d.percent)}</strong></span>")
    chart = ""
    if uptime.series:  # a system's own page
        chart = markup["chart"] + latency_chart_svg(latency_chart(uptime.series))
    return (f'{markup["uptime"]}{figures}</p>'
            f"{uptime_bar_markup(dates=uptime.dates, tallies=uptime.tallies, language=language)}"
            f'{markup["axis"]}{chart}</div>')


def system_item(system: PublicSystem, *, link: str | None = None, language: str | None = None) -> SafeString:
    """One system's <li>: name (linked to its page when it has checks), status, impact note, message, history.

    `link` is escaped already; `language`: the request's, when the caller has it.
    """
    language = language or get_language()
    markup = _markup(language)
    name = f"<strong>{escape(system.name)}</strong>"
    if link:
        name = f'<a href="{link}">{name}</a>'
    note = ""
    if system.impacted_by:
        names = ", ".join(system.impacted_by)
        note = f'<span class="impact-note">{escape(_page_words(language)["affected"] % {"names": names})}</span>'
    message = f'<span class="muted">{escape(system.message)}</span>' if system.message else ""
    history = _history(system, markup, language) if system.uptime else ""
    status = system.impact_status
    badge = markup["badges"].get(status) or (
        f'<span class="badge {escape(status)}">{escape(_page_words(language)[None])}</span>')
    return SafeString(f'<li class="system">{name} {badge} {note}{message}{history}</li>')


def system_items(systems: list[PublicSystem]) -> SafeString:
    """The <li> of each system, linked to its page (the link built once, not reversed per system)."""
    base = escape(reverse("statuspage:system", args=[PLACEHOLDER]))
    language = get_language()
    return mark_safe("".join(system_item(s, link=base.replace(PLACEHOLDER, s.id) if s.uptime else None,
                                         language=language) for s in systems))
