import uuid

from django.core.exceptions import ValidationError
from django.db import models

from automation.entities.actor import current_acting
from automation.entities.tracked import TrackedModel, is_mutating
from foundation.json_text import validate_no_nul_characters

# Largest latency stored: PositiveIntegerField's range on PostgreSQL (SQLite would take more; we refuse it).
MAX_LATENCY_MS = 2_147_483_647
# Longest reported health message stored (API and admin refuse more; Alertmanager's text is cut to it).
MAX_HEALTH_MESSAGE = 2000


class HealthSource(models.TextChoices):
    """Who sets a system's health: clients and operators (`reported`), or Checkstack's own checks."""

    REPORTED = "reported"
    CHECKS = "checks"


class HealthStatus(models.TextChoices):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"


def validate_metadata(value) -> None:
    """Metadata is a JSON object; NUL characters are refused because PostgreSQL's jsonb cannot store them."""
    if not isinstance(value, dict):
        raise ValidationError("Metadata must be a JSON object.", code="invalid")
    validate_no_nul_characters(value)


class DependencyImpact(models.TextChoices):
    """How much of a dependency's trouble reaches the system that depends on it."""

    PARTIAL = "partial"  # at most `degraded`
    FULL = "full"  # its impact status, unchanged


class Group(TrackedModel):
    """A section of systems (e.g. "Payments"): on the status page and for subscribers."""

    entity_kind_name = "group"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    position = models.IntegerField(default=0, help_text="Groups are listed by position, then name.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self):
        return self.name

    def delete(self, *args, **kwargs):
        # Its systems' group_id is tracked state: ungroup them through the service, not by SET NULL.
        if is_mutating(self.entity_kind_name, self.pk):
            return super().delete(*args, **kwargs)
        from .groups import group_delete

        group_delete(group=self, actor=current_acting().actor)

    delete.alters_data = True


class System(TrackedModel):
    """A monitored system."""

    entity_kind_name = "system"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True, validators=[validate_metadata])
    # SET_NULL is the database's fallback only: group_delete ungroups the systems through the service first.
    group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.SET_NULL, related_name="systems")
    health_source = models.CharField(max_length=20, choices=HealthSource.choices, default=HealthSource.REPORTED)
    # The rule that turns check results into health, used while `health_source` is `checks`.
    health_failure_threshold = models.PositiveSmallIntegerField(
        default=3, help_text="Consecutive failures of a check that make the system unhealthy."
    )
    # Checks run from several locations fail when this many of their locations fail; None: a majority
    # (a check's own health_quorum wins; checks/locations/quorum.py).
    health_quorum = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Locations that must fail for a check run from several to fail; "
                                         "empty: a majority.")
    health_degraded_latency_ms = models.PositiveIntegerField(
        null=True, blank=True, help_text="Latency above which a passing check makes the system degraded."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(health_source__in=HealthSource.values),
                                   name="system_health_source_valid"),
            models.CheckConstraint(condition=models.Q(health_failure_threshold__gte=1,
                                                      health_failure_threshold__lte=100),
                                   name="system_failure_threshold_in_range"),
        ]

    def __str__(self):
        return self.name

    def delete(self, *args, **kwargs):
        # A plain cascade would remove the health row without its tombstone: route a shell or admin
        # delete through the service, which deletes (and logs) the health first.
        if is_mutating(self.entity_kind_name, self.pk):
            return super().delete(*args, **kwargs)
        from .services import system_delete

        system_delete(system=self, actor=current_acting().actor)

    delete.alters_data = True


class SystemHealth(TrackedModel):
    """A system's latest reported health; the row exists from the first report on."""

    entity_kind_name = "health"

    system = models.OneToOneField(System, primary_key=True, on_delete=models.CASCADE, related_name="health")
    status = models.CharField(max_length=20, choices=HealthStatus.choices)
    message = models.TextField(blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Who wrote this row: a message written by checks quotes probe errors (host names, addresses, banners) and
    # is for operators only; the public page shows only a reported one (statuspage/selectors.py).
    source = models.CharField(max_length=20, choices=HealthSource.choices, default=HealthSource.REPORTED)

    class Meta:
        verbose_name_plural = "system health"
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=HealthStatus.values), name="health_status_valid"),
        ]

    def __str__(self):
        return f"{self.system_id}: {self.status}"

    def save(self, *args, **kwargs):
        # A health change also moves the impact of the system and its dependents: route a shell or admin
        # save through the service that recomputes them, as the source the system takes its health from.
        if is_mutating(self.entity_kind_name, self.pk):
            return super().save(*args, **kwargs)
        from .services import health_report

        source = System.objects.values_list("health_source", flat=True).get(pk=self.system_id)
        health_report(system=self.system, status=self.status, message=self.message, latency_ms=self.latency_ms,
                      actor=current_acting().actor, source=source)

    save.alters_data = True


class SystemImpact(TrackedModel):
    """A system's health as its dependencies make it; the row exists while the status is known."""

    entity_kind_name = "impact"

    system = models.OneToOneField(System, primary_key=True, on_delete=models.CASCADE, related_name="impact")
    status = models.CharField(max_length=20, choices=HealthStatus.choices)
    # Ids (strings, sorted) of the systems whose own health made this one worse; empty when its own decides.
    impacted_by = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=HealthStatus.values), name="impact_status_valid"),
        ]

    def __str__(self):
        return f"{self.system_id}: {self.status}"


class Dependency(models.Model):
    """`system` depends on `depends_on`: its trouble reaches `system` as `impact` says."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    system = models.ForeignKey(System, on_delete=models.CASCADE, related_name="dependencies")
    depends_on = models.ForeignKey(System, on_delete=models.CASCADE, related_name="dependents")
    impact = models.CharField(max_length=10, choices=DependencyImpact.choices, default=DependencyImpact.FULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "dependencies"
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["system", "depends_on"], name="dependency_pair_unique"),
            models.CheckConstraint(condition=~models.Q(system=models.F("depends_on")), name="dependency_not_self"),
            models.CheckConstraint(condition=models.Q(impact__in=DependencyImpact.values),
                                   name="dependency_impact_valid"),
        ]

    def __str__(self):
        return f"{self.system_id} → {self.depends_on_id} ({self.impact})"


class DependencyGraphVersion(models.Model):
    """One row counting changes of the dependency edges: a process may reuse the graph it read while the
    count is unchanged (catalog.impact). Bumped in the transaction of every edge write."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    version = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="dependency_graph_version_single")]

    def __str__(self):
        return f"dependency graph version {self.version}"
