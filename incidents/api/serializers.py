"""Incident API shapes: one representation out, plain validating serializers in (writes go to services)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import Incident, IncidentSeverity, IncidentStatus, IncidentUpdate
from ..selectors import incident_system_ids


class IncidentUpdateSerializer(serializers.ModelSerializer):
    class Meta:
        model = IncidentUpdate
        fields = ["id", "message", "status_change", "created_by", "created_at"]
        read_only_fields = fields


class IncidentSerializer(serializers.ModelSerializer):
    system_ids = serializers.SerializerMethodField()
    updates = IncidentUpdateSerializer(many=True, read_only=True)

    class Meta:
        model = Incident
        fields = [
            "id",
            "title",
            "description",
            "status",
            "severity",
            "system_ids",
            "suppress_notifications",
            "created_at",
            "updated_at",
            "resolved_at",
            "updates",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_system_ids(self, incident: Incident) -> list[str]:
        return incident_system_ids(incident)


class IncidentCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    severity = serializers.ChoiceField(choices=IncidentSeverity.choices, default=IncidentSeverity.MAJOR)
    # Existence is checked by the service (one rule for API, admin and actions).
    system_ids = serializers.ListField(child=serializers.UUIDField(), allow_empty=True)
    initial_message = serializers.CharField(required=False, allow_blank=True, allow_null=True, default=None)
    suppress_notifications = serializers.BooleanField(default=False)


class IncidentPatchSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=IncidentStatus.choices, required=False)
    severity = serializers.ChoiceField(choices=IncidentSeverity.choices, required=False)
    system_ids = serializers.ListField(child=serializers.UUIDField(), allow_empty=True, required=False)
    suppress_notifications = serializers.BooleanField(required=False)


class IncidentUpdatePostSerializer(serializers.Serializer):
    message = serializers.CharField()
    status_change = serializers.ChoiceField(choices=IncidentStatus.choices, required=False, allow_null=True)


class IncidentResolveSerializer(serializers.Serializer):
    message = serializers.CharField(required=False, allow_blank=True, allow_null=True, default=None)
