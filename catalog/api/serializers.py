"""Shapes of systems and their health in the API."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from ..models import MAX_HEALTH_MESSAGE, MAX_LATENCY_MS, HealthStatus, System
from ..selectors import system_health
from ..services import MAX_FAILURE_THRESHOLD, NAME_TAKEN


class HealthSerializer(serializers.Serializer):
    """A system's health; every value is null (message empty) before its first report."""

    system_id = serializers.UUIDField(read_only=True)
    status = serializers.ChoiceField(choices=HealthStatus.choices, allow_null=True, read_only=True)
    message = serializers.CharField(read_only=True)
    latency_ms = serializers.IntegerField(allow_null=True, read_only=True)
    updated_at = serializers.DateTimeField(allow_null=True, read_only=True)


class HealthReportSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=HealthStatus.choices)
    message = serializers.CharField(required=False, allow_blank=True, default="", max_length=MAX_HEALTH_MESSAGE)
    latency_ms = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=0, max_value=MAX_LATENCY_MS
    )


class SystemSerializer(serializers.ModelSerializer):
    health = serializers.SerializerMethodField()

    class Meta:
        model = System
        # The health policy: where health comes from (`reported` by clients, or `checks`) and the rule that
        # derives it from checks (docs/checks.md).
        fields = ["id", "name", "description", "metadata", "health_source", "health_failure_threshold",
                  "health_degraded_latency_ms", "health"]
        extra_kwargs = {
            "name": {"validators": [UniqueValidator(queryset=System.objects.all(), message=NAME_TAKEN)]},
            "health_failure_threshold": {"min_value": 1, "max_value": MAX_FAILURE_THRESHOLD},
            "health_degraded_latency_ms": {"min_value": 1, "max_value": MAX_LATENCY_MS},
        }

    @extend_schema_field(HealthSerializer)
    def get_health(self, system: System) -> dict:
        return HealthSerializer(system_health(system=system)).data
