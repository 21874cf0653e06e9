"""Reads of objectives with their live figures (constant queries for any number of them)."""

import uuid

from django.utils import timezone

from .evaluation import slos_figures
from .models import Slo


def slo_rows(*, slos: list[Slo], now=None) -> list[dict]:
    """Each objective's fields and live figures, as the API and expressions show them."""
    live = slos_figures(slos=slos, now=now or timezone.now())
    rows = []
    for slo in slos:
        figures = live[str(slo.pk)]
        rows.append({"id": str(slo.pk), "system_id": str(slo.system_id), "name": slo.name,
                     "target_percent": float(slo.target_percent), "window_days": slo.window_days,
                     "indicator": slo.indicator, "latency_threshold_ms": slo.latency_threshold_ms,
                     "sli_percent": figures.sli_percent,
                     "budget_remaining_percent": figures.budget_remaining_percent,
                     "burn_rate_1h": figures.burn_rate_1h, "burn_rate_6h": figures.burn_rate_6h,
                     "status": figures.status})
    return rows


def slos_of_system(*, system_id) -> list[dict]:
    """`health.system.slos`: the system's objectives, by name, with their live figures."""
    try:
        pk = uuid.UUID(str(system_id))
    except ValueError:
        return []  # a context key that is not a system id
    return slo_rows(slos=list(Slo.objects.filter(system_id=pk).order_by("name")))
