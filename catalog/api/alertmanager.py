"""POST /api/v1/integrations/alertmanager/: Alertmanager's webhook (payload version 4) in, system health out.

200 when every alert that names a system was applied; 207 when some named an unknown system or one whose
health comes from checks (the body lists them; Alertmanager counts any 2xx as delivered, and sending the same
payload again would not change the answer). The logic is catalog/alertmanager.py.
"""

from django.db import transaction
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from automation.entities.actor import user_actor

from ..alertmanager import FIRING, RESOLVED, alertmanager_apply
from .views import HealthPermissions

MAX_ALERTS = 1000


class AlertSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[FIRING, RESOLVED])
    labels = serializers.DictField(child=serializers.CharField(allow_blank=True, trim_whitespace=False))
    annotations = serializers.DictField(child=serializers.CharField(allow_blank=True, trim_whitespace=False),
                                        required=False, default=dict)


class AlertmanagerPayloadSerializer(serializers.Serializer):
    """The fields Checkstack reads; Alertmanager's others (groupKey, receiver, startsAt, ...) are ignored."""

    version = serializers.CharField(required=False)
    alerts = serializers.ListField(child=AlertSerializer(), max_length=MAX_ALERTS)

    def validate_version(self, value):
        if value != "4":
            raise serializers.ValidationError("Only Alertmanager's webhook payload version 4 is understood.")
        return value


OUTCOME = inline_serializer("AlertmanagerOutcome", {
    "updated": serializers.ListField(child=serializers.DictField()),
    "conflicts": serializers.ListField(child=serializers.DictField()),
    "unknown": serializers.ListField(child=serializers.CharField()),
    "ignored": serializers.IntegerField(),
})


@extend_schema(tags=["integrations"])
class AlertmanagerView(APIView):
    # Reporting health is what this does: the same permission as POST systems/{id}/health/.
    permission_classes = [HealthPermissions]

    @extend_schema(request=AlertmanagerPayloadSerializer, responses={200: OUTCOME, 207: OUTCOME})
    def post(self, request, *args, **kwargs):
        serializer = AlertmanagerPayloadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            outcome = alertmanager_apply(alerts=serializer.validated_data["alerts"], actor=user_actor(request.user))
        body = {"updated": outcome.updated, "conflicts": outcome.conflicts, "unknown": outcome.unknown,
                "ignored": outcome.ignored}
        return Response(body, status=status.HTTP_200_OK if outcome.complete else status.HTTP_207_MULTI_STATUS)
