"""Shapes of the maintenance API: the window as read, and the bodies each write accepts."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import END_BEFORE_START, MaintenanceStatus, MaintenanceUpdate, MaintenanceWindow
from ..selectors import maintenance_system_ids


class MaintenanceUpdateSerializer(serializers.ModelSerializer):
    class Meta:
        model = MaintenanceUpdate
        fields = ["id", "message", "status_change", "created_by", "created_at"]


class MaintenanceSerializer(serializers.ModelSerializer):
    system_ids = serializers.SerializerMethodField()
    updates = MaintenanceUpdateSerializer(many=True, read_only=True)

    class Meta:
        model = MaintenanceWindow
        fields = [
            "id",
            "title",
            "description",
            "status",
            "system_ids",
            "start_at",
            "end_at",
            "suppress_notifications",
            "created_at",
            "updated_at",
            "updates",
        ]

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_system_ids(self, window) -> list[str]:
        return maintenance_system_ids(window)


class MaintenanceWriteSerializer(serializers.Serializer):
    """Body of create, and (partial) of PATCH; the service re-checks the times against the stored ones."""

    title = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True, required=False, default="")
    status = serializers.ChoiceField(choices=MaintenanceStatus.choices, required=False)
    system_ids = serializers.ListField(child=serializers.UUIDField(), required=False, default=list)
    start_at = serializers.DateTimeField()
    end_at = serializers.DateTimeField()
    suppress_notifications = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs):
        start_at, end_at = attrs.get("start_at"), attrs.get("end_at")
        if start_at is not None and end_at is not None and end_at <= start_at:
            raise serializers.ValidationError({"end_at": [END_BEFORE_START]})
        return attrs


class MaintenanceUpdateCreateSerializer(serializers.Serializer):
    message = serializers.CharField()
    status_change = serializers.ChoiceField(choices=MaintenanceStatus.choices, required=False, allow_null=True)


class MaintenanceCloseSerializer(serializers.Serializer):
    message = serializers.CharField(required=False, allow_blank=True, allow_null=True)
