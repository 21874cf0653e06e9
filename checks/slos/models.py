"""A service-level objective of a system, and the daily tallies of latency objectives.

The objective's config is edited through checks/slos/services.py; its status and budget band are reactive state
(`slo` entity), written by the evaluation pass through the mutation service when either changes.
"""

import uuid
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from automation.entities.tracked import TrackedModel
from catalog.models import System

MIN_WINDOW_DAYS = 7
MAX_WINDOW_DAYS = 90


class Indicator(models.TextChoices):
    AVAILABILITY = "availability", "Availability"
    LATENCY = "latency", "Latency"


class SloStatus(models.TextChoices):
    OK = "ok", "OK"
    BURNING = "burning", "Burning"
    EXHAUSTED = "exhausted", "Exhausted"


class Slo(TrackedModel):
    """An objective: `target_percent` of a system's check results good over the last `window_days`."""

    entity_kind_name = "slo"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    system = models.ForeignKey(System, on_delete=models.CASCADE, related_name="slos")
    name = models.CharField(max_length=200)
    target_percent = models.DecimalField(
        max_digits=6, decimal_places=3,
        validators=[MinValueValidator(Decimal("1")), MaxValueValidator(Decimal("99.999"))])
    window_days = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(MIN_WINDOW_DAYS), MaxValueValidator(MAX_WINDOW_DAYS)])
    indicator = models.CharField(max_length=20, choices=Indicator.choices, default=Indicator.AVAILABILITY)
    latency_threshold_ms = models.PositiveIntegerField(null=True, blank=True)

    # Reactive state, written by the evaluation pass only (checks/slos/evaluation.py).
    status = models.CharField(max_length=20, choices=SloStatus.choices, default=SloStatus.OK, editable=False)
    budget_band = models.PositiveSmallIntegerField(default=100, editable=False)  # whole tens of percent
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "SLO"
        verbose_name_plural = "SLOs"
        constraints = [
            models.UniqueConstraint(fields=["system", "name"], name="slo_name_unique_per_system"),
            models.CheckConstraint(condition=models.Q(window_days__gte=MIN_WINDOW_DAYS,
                                                      window_days__lte=MAX_WINDOW_DAYS),
                                   name="slo_window_in_range"),
            models.CheckConstraint(condition=models.Q(target_percent__gt=0, target_percent__lt=100),
                                   name="slo_target_in_range"),
            models.CheckConstraint(condition=models.Q(indicator="availability") |
                                   models.Q(latency_threshold_ms__isnull=False),
                                   name="slo_latency_has_threshold"),
        ]

    def __str__(self):
        return f"{self.system} / {self.name}"


class SloDayTally(models.Model):
    """A latency objective's good and bad results of one whole UTC day: what the daily roll-ups cannot say,
    since "under the threshold" depends on the objective. Written by the evaluation pass, once per day."""

    id = models.BigAutoField(primary_key=True)
    slo = models.ForeignKey(Slo, on_delete=models.CASCADE, related_name="tallies")
    day = models.DateField()
    total = models.PositiveIntegerField(default=0)
    bad = models.PositiveIntegerField(default=0)
    # A day's tally written before its late results landed is written again (see tallies.SETTLE).
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["-day"]
        constraints = [models.UniqueConstraint(fields=["slo", "day"], name="slo_tally_one_per_day")]

    def __str__(self):
        return f"{self.slo_id} {self.day}: {self.bad}/{self.total} bad"
