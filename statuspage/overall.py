"""The page's one-line answer to "is everything OK?": pure functions of the systems' statuses.

The indicator values are Statuspage's (`none`, `minor`, `major`, `critical`, plus `maintenance`), so tools
that read its summary read ours; the banner texts are what a visitor sees.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

KNOWN = {"healthy", "degraded", "unhealthy"}

DESCRIPTIONS = {
    "none": _("All systems operational"),
    "minor": _("Degraded performance"),
    "major": _("Partial outage"),
    "critical": _("Major outage"),
    "maintenance": _("Under maintenance"),
}


@dataclass(frozen=True)
class Overall:
    indicator: str  # none | minor | major | critical | maintenance
    description: str


def overall_status(*, statuses: Iterable[str | None], maintenance_in_progress: bool) -> Overall:
    """The banner from the impact statuses of the systems not under maintenance.

    A system inside a window in progress is expected to be down, so it does not make the page read
    "outage"; with such a window and every other system healthy, the page says "Under maintenance".
    More than half of the known systems unhealthy is a major outage, fewer a partial one.
    """
    known = [s for s in statuses if s in KNOWN]
    unhealthy = sum(s == "unhealthy" for s in known)
    if unhealthy:
        indicator = "critical" if unhealthy * 2 > len(known) else "major"
    elif "degraded" in known:
        indicator = "minor"
    else:
        indicator = "maintenance" if maintenance_in_progress else "none"
    return Overall(indicator, str(DESCRIPTIONS[indicator]))
