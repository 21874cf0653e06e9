"""Template filters of the public pages."""

from datetime import timedelta

from django import template
from django.utils.translation import ngettext

from statuspage import items

register = template.Library()


@register.filter
def duration_text(value: timedelta) -> str:
    """A duration in days, hours and minutes ("2 hours 5 minutes"); under a minute reads "0 minutes"."""
    minutes = max(int(value.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    parts = []
    if days:
        parts.append(ngettext("%(n)d day", "%(n)d days", days) % {"n": days})
    if hours:
        parts.append(ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours})
    if minutes or not parts:
        parts.append(ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes})
    return " ".join(parts)


@register.filter
def status_word(status: str | None) -> str:
    """A health or impact status as the page words it ("No data" before the first report)."""
    return items.status_word(status)
