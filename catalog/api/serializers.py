"""Shapes of systems, their health and impact, groups and dependencies in the API."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from ..groups import GROUP_NAME_TAKEN
from ..impact_graph import Impact
from ..models import MAX_HEALTH_MESSAGE, MAX_LATENCY_MS, Dependency, DependencyImpact, Group, HealthStatus, System
from ..selectors import system_health, system_impact
from ..services import MAX_FAILURE_THRESHOLD, NAME_TAKEN


class HealthSerializer(serializers.Serializer):
    """A system's health; every value is null (message empty) before its first report."""

    system_id = serializers.UUIDField(read_only=True)
    status = serializers.ChoiceField(choices=HealthStatus.choices, allow_null=True, read_only=True)
    message = serializers.CharField(read_only=True)
    latency_ms = serializers.IntegerField(allow_null=True, read_only=True)
    updated_at = serializers.DateTimeField(allow_null=True, read_only=True)
    # The health as the system's dependencies make it (context["impact"], an Impact; docs/groups-and-dependencies.md).
    impact_status = serializers.SerializerMethodField()
    impacted_by = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ChoiceField(choices=HealthStatus.choices, allow_null=True))
    def get_impact_status(self, _health) -> str | None:
        return self.context["impact"].status

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_impacted_by(self, _health) -> list[str]:
        return list(self.context["impact"].impacted_by)


def health_data(health, impact: Impact) -> dict:
    """The `health` object of the API: the reported health with the impact beside it."""
    return HealthSerializer(health, context={"impact": impact}).data


class HealthReportSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=HealthStatus.choices)
    message = serializers.CharField(required=False, allow_blank=True, default="", max_length=MAX_HEALTH_MESSAGE)
    latency_ms = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=0, max_value=MAX_LATENCY_MS
    )


class SystemSerializer(serializers.ModelSerializer):
    health = serializers.SerializerMethodField()
    group_id = serializers.PrimaryKeyRelatedField(
        source="group", queryset=Group.objects.all(), allow_null=True, required=False,
        help_text="The group the system is in (null: none).",
    )

    class Meta:
        model = System
        # The health policy: where health comes from (`reported` by clients, or `checks`) and the rule that
        # derives it from checks (docs/checks.md).
        fields = ["id", "name", "description", "metadata", "group_id", "health_source", "health_failure_threshold",
                  "health_degraded_latency_ms", "health_quorum", "health"]
        extra_kwargs = {
            "name": {"validators": [UniqueValidator(queryset=System.objects.all(), message=NAME_TAKEN)]},
            "health_failure_threshold": {"min_value": 1, "max_value": MAX_FAILURE_THRESHOLD},
            "health_degraded_latency_ms": {"min_value": 1, "max_value": MAX_LATENCY_MS},
            "health_quorum": {"min_value": 1, "max_value": 100},
        }

    @extend_schema_field(HealthSerializer)
    def get_health(self, system: System) -> dict:
        return health_data(system_health(system=system), system_impact(system=system))

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        if "group" in values:  # the services take the id
            group = values.pop("group")
            values["group_id"] = None if group is None else group.pk
        return values


class GroupSerializer(serializers.ModelSerializer):
    system_ids = serializers.SerializerMethodField()

    class Meta:
        model = Group
        fields = ["id", "name", "description", "position", "system_ids"]
        extra_kwargs = {
            "name": {"validators": [UniqueValidator(queryset=Group.objects.all(), message=GROUP_NAME_TAKEN)]},
            "position": {"min_value": -2_147_483_648, "max_value": 2_147_483_647},
        }

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_system_ids(self, group: Group) -> list[str]:
        """The group's systems, sorted by id (read-only: a system's group_id is set on the system)."""
        return sorted(str(system.pk) for system in group.systems.all())


class DependencySerializer(serializers.ModelSerializer):
    system_id = serializers.UUIDField(help_text="The system that depends on the other.")
    depends_on_id = serializers.UUIDField(help_text="The system it depends on.")
    impact = serializers.ChoiceField(choices=DependencyImpact.choices, default=DependencyImpact.FULL,
                                     help_text="full: its impact status passes on unchanged; "
                                               "partial: at most degraded.")

    class Meta:
        model = Dependency
        fields = ["id", "system_id", "depends_on_id", "impact"]
