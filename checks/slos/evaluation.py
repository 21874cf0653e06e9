"""The evaluation pass (beat, every minute): every objective's figures, and its `slo` entity written when its
status or budget band changed — and only then, so a steady objective costs no change event.

Statements per pass are constant (objectives, roll-up sums, day-tally sums, one grouped query over today's
results, the day-tally fill) plus one tracked write per objective that changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.utils import timezone

from automation.entities.mutation import entity_mutate

from .arithmetic import Figures, Tally, figures
from .models import Slo
from .tallies import latency_tallies_fill, past_days, recent

ACTOR = "system:slos"


def slos_figures(*, slos: list[Slo], now: datetime, every: bool = False) -> dict[str, Figures]:
    """Each objective's figures by id; `every`: `slos` are all objectives (no id list in the queries)."""
    if not slos:
        return {}
    ids = None if every else [s.pk for s in slos]
    past = past_days(slo_ids=ids, windows={s.window_days for s in slos}, today=now.astimezone(UTC).date())
    today, burns = recent(slo_ids=ids, now=now)
    return {str(s.pk): figures(window=past.get(str(s.pk), Tally()) + today.get(str(s.pk), Tally()),
                               burns=burns.get(str(s.pk), {}), target_percent=s.target_percent)
            for s in slos}


def slo_state_write(*, slo: Slo, status: str, budget_band: int, actor: str = ACTOR) -> Slo | None:
    """Write the objective's status and band onto its locked row; the change event says what moved."""

    def write(current: Slo | None):
        if current is None:
            return None  # deleted since it was read: nothing to write
        current.status, current.budget_band = status, budget_band
        current.save(update_fields=["status", "budget_band", "updated_at"])
        return current

    written, _event = entity_mutate(kind="slo", entity_id=slo.pk, write=write, actor=actor)
    return written


@dataclass
class PassResult:
    evaluated: int = 0
    tallies_written: int = 0
    changed: list[str] = field(default_factory=list)


def slos_evaluate(*, now: datetime | None = None) -> PassResult:
    """Evaluate every objective; write the `slo` entity of those whose status or budget band changed."""
    now = now or timezone.now()
    result = PassResult(tallies_written=latency_tallies_fill(now=now))
    slos = list(Slo.objects.order_by("pk"))  # pk order: a stable lock order for the writes
    result.evaluated = len(slos)
    by_id = {str(s.pk): s for s in slos}
    for slo_id, figured in slos_figures(slos=slos, now=now, every=True).items():
        slo = by_id[slo_id]
        if (slo.status, slo.budget_band) == (figured.status, figured.budget_band):
            continue
        if slo_state_write(slo=slo, status=figured.status, budget_band=figured.budget_band) is not None:
            result.changed.append(slo_id)
    return result
