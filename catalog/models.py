import uuid

from django.db import models

from automation.entities.mutation import TrackedModel


class HealthStatus(models.TextChoices):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"


class System(TrackedModel):
    """A monitored system."""

    entity_kind_name = "system"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class SystemHealth(TrackedModel):
    """A system's latest reported health; the row exists from the first report on."""

    entity_kind_name = "health"

    system = models.OneToOneField(System, primary_key=True, on_delete=models.CASCADE, related_name="health")
    status = models.CharField(max_length=20, choices=HealthStatus.choices)
    message = models.TextField(blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "system health"

    def __str__(self):
        return f"{self.system_id}: {self.status}"
