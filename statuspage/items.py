"""A system's entry on the public pages, as HTML built in Python.

Built as strings, not in a template, for the reason svg.py gives: a page of 500 systems rendered through a
template include per system cost more than everything else on the page. Every text is escaped (format_html)
and goes through the translation functions.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from .charts import system_history
from .selectors import PublicSystem

PLACEHOLDER = "00000000-0000-0000-0000-000000000000"


def status_words() -> dict:
    """The statuses as the page words them, in the request's language (None: before the first report)."""
    return {"healthy": _("healthy"), "degraded": _("degraded"), "unhealthy": _("unhealthy"), None: _("No data")}


def status_word(status: str | None) -> str:
    words = status_words()
    return words.get(status) or words[None]


def _history(system: PublicSystem) -> SafeString:
    history = system_history(system.uptime)
    uptime = format_html_join("", "<span>{}: <strong>{}</strong></span>", history["uptime"])
    chart = format_html('<p class="muted chart-caption">{}</p>{}', _(
        "Response time, last 24 hours (average per 15 minutes; lighter line: 95th percentile)"),
        history["chart"]) if history["chart"] else ""
    return format_html('<div class="history"><p class="uptime">{} {}</p>{}'
                       '<p class="axis muted"><span>{}</span><span>{}</span></p>{}</div>',
                       _("Uptime"), uptime, history["bar"], _("90 days ago"), _("Today"), chart)


def system_item(system: PublicSystem, *, link: str | None = None, words: dict | None = None) -> SafeString:
    """One system's <li>: name (linked to its page when it has checks), status, impact note, message, history."""
    name = format_html("<strong>{}</strong>", system.name)
    if link:
        name = format_html('<a href="{}">{}</a>', link, name)
    status = system.impact_status
    note = format_html('<span class="impact-note">{}</span>', _("affected by %(names)s") % {
        "names": ", ".join(system.impacted_by)}) if system.impacted_by else ""
    message = format_html('<span class="muted">{}</span>', system.message) if system.message else ""
    history = _history(system) if system.uptime else ""
    return format_html('<li class="system">{} <span class="badge {}">{}</span> {}{}{}</li>', name,
                       status or "unknown", (words or status_words()).get(status) or _("No data"), note, message,
                       history)


def system_items(systems: list[PublicSystem]) -> SafeString:
    """The <li> of each system, linked to its page (the link built once, not reversed per system)."""
    base = reverse("statuspage:system", args=[PLACEHOLDER])
    words = status_words()
    return mark_safe("".join(system_item(s, link=base.replace(PLACEHOLDER, s.id) if s.uptime else None,
                                         words=words) for s in systems))
