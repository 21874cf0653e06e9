"""/api/v1/incidents/: list, create, get, patch, delete, post an update, resolve."""

import django_filters.rest_framework as filters
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from automation.entities.actor import user_actor
from foundation.permissions import ActionAwarePermissions

from ..models import Incident, IncidentSeverity, IncidentStatus
from ..selectors import incident_list
from ..services import incident_add_update, incident_create, incident_delete, incident_resolve, incident_update
from .serializers import (
    IncidentCreateSerializer,
    IncidentPatchSerializer,
    IncidentResolveSerializer,
    IncidentSerializer,
    IncidentUpdatePostSerializer,
)


class IncidentFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=IncidentStatus.choices)
    severity = filters.ChoiceFilter(choices=IncidentSeverity.choices)
    system = filters.UUIDFilter(field_name="system_links__system_id")
    open = filters.BooleanFilter(method="filter_open")

    class Meta:
        model = Incident
        fields = ["status", "severity", "system", "open"]

    def filter_open(self, queryset, name, value):
        if value:
            return queryset.exclude(status=IncidentStatus.RESOLVED)
        return queryset.filter(status=IncidentStatus.RESOLVED)


@extend_schema(tags=["incidents"])
class IncidentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = incident_list()
    serializer_class = IncidentSerializer
    filterset_class = IncidentFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    permission_classes = [ActionAwarePermissions]
    # Posting an update or resolving edits the incident: change, not add.
    action_permissions = {"updates": ["incidents.change_incident"], "resolve": ["incidents.change_incident"]}

    def get_queryset(self):
        if self.action in ("list", "retrieve"):
            return super().get_queryset()
        return Incident.objects.all()  # writes re-read the incident with its relations afterwards

    def _input(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _represent(self, incident: Incident, code: int = status.HTTP_200_OK) -> Response:
        fresh = incident_list().get(pk=incident.pk)
        return Response(IncidentSerializer(fresh).data, status=code)

    @extend_schema(request=IncidentCreateSerializer, responses={201: IncidentSerializer})
    def create(self, request):
        data = self._input(IncidentCreateSerializer)
        with transaction.atomic():
            incident = incident_create(**data, actor=user_actor(request.user))
        return self._represent(incident, status.HTTP_201_CREATED)

    @extend_schema(request=IncidentPatchSerializer, responses=IncidentSerializer)
    def partial_update(self, request, pk=None):
        incident = self.get_object()
        data = self._input(IncidentPatchSerializer)
        with transaction.atomic():
            incident = incident_update(incident=incident, actor=user_actor(request.user), **data)
        return self._represent(incident)

    def destroy(self, request, pk=None):
        incident = self.get_object()
        with transaction.atomic():
            incident_delete(incident=incident, actor=user_actor(request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=IncidentUpdatePostSerializer, responses={201: IncidentSerializer})
    @action(detail=True, methods=["post"])
    def updates(self, request, pk=None):
        incident = self.get_object()
        data = self._input(IncidentUpdatePostSerializer)
        with transaction.atomic():
            incident_add_update(
                incident=incident,
                message=data["message"],
                status_change=data.get("status_change"),
                actor=user_actor(request.user),
            )
        return self._represent(incident, status.HTTP_201_CREATED)

    @extend_schema(request=IncidentResolveSerializer, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        incident = self.get_object()
        data = self._input(IncidentResolveSerializer)
        with transaction.atomic():
            incident = incident_resolve(incident=incident, message=data["message"], actor=user_actor(request.user))
        return self._represent(incident)
