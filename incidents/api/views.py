"""/api/v1/incidents/: list, create, get, patch, delete, post an update, resolve."""

import django_filters.rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action

from automation.service_views import ServiceViewSet
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
class IncidentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ServiceViewSet):
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

    @extend_schema(request=IncidentCreateSerializer, responses={201: IncidentSerializer})
    def create(self, request):
        return self.service_write(incident_create, IncidentCreateSerializer, code=status.HTTP_201_CREATED)

    @extend_schema(request=IncidentPatchSerializer, responses=IncidentSerializer)
    def partial_update(self, request, pk=None):
        return self.service_write(incident_update, IncidentPatchSerializer, incident=self.get_object())

    def destroy(self, request, pk=None):
        return self.service_delete(incident_delete, incident=self.get_object())

    @extend_schema(request=IncidentUpdatePostSerializer, responses={201: IncidentSerializer})
    @action(detail=True, methods=["post"])
    def updates(self, request, pk=None):
        incident = self.get_object()
        return self.service_write(incident_add_update, IncidentUpdatePostSerializer, incident=incident,
                                  shown=incident, code=status.HTTP_201_CREATED)

    @extend_schema(request=IncidentResolveSerializer, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        return self.service_write(incident_resolve, IncidentResolveSerializer, incident=self.get_object())
