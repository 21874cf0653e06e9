"""systems/ CRUD and systems/{id}/health/: validate, call a catalog service in a transaction, serialize."""

import django_filters
from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, status, viewsets
from rest_framework.response import Response

from automation.entities.actor import user_actor
from checkstack.permissions import ModelPermissions

from .. import selectors, services
from ..models import HealthStatus, System, SystemHealth
from .serializers import HealthReportSerializer, HealthSerializer, SystemSerializer, health_data

# The route takes any id (a malformed one is a JSON 404); the schema says what a valid one looks like.
SYSTEM_ID_PARAMETERS = [OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)]
SYSTEM_ID = extend_schema(parameters=SYSTEM_ID_PARAMETERS)


class SystemFilter(django_filters.FilterSet):
    name = django_filters.CharFilter()
    # `health_status=null` lists the systems nobody has reported on yet.
    health_status = django_filters.ChoiceFilter(
        field_name="health__status", choices=HealthStatus.choices, null_label="Not reported"
    )

    group_id = django_filters.UUIDFilter(field_name="group_id")

    class Meta:
        model = System
        fields = ["name", "health_status", "group_id"]


@extend_schema_view(retrieve=SYSTEM_ID, update=SYSTEM_ID, partial_update=SYSTEM_ID, destroy=SYSTEM_ID)
class SystemViewSet(viewsets.ModelViewSet):
    # Any id reaches the view, so a malformed one is DRF's JSON 404 rather than the URL resolver's HTML one.
    lookup_value_regex = "[^/]+"
    queryset = selectors.system_list()
    serializer_class = SystemSerializer
    filterset_class = SystemFilter

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            system = services.system_create(**serializer.validated_data, actor=user_actor(request.user))
        return Response(self.get_serializer(system).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        system = self.get_object()
        serializer = self.get_serializer(system, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            services.system_update(system=system, **serializer.validated_data, actor=user_actor(request.user))
        return Response(self.get_serializer(system).data)

    def destroy(self, request, *args, **kwargs):
        system = self.get_object()
        with transaction.atomic():
            services.system_delete(system=system, actor=user_actor(request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)


class HealthPermissions(ModelPermissions):
    """Model permissions of SystemHealth; a report needs `catalog.change_systemhealth`.

    Change, not add: a report sets the current value of state every system has. That the first report
    also creates the row is storage, so a monitoring token needs one permission for every report.
    """

    perms_map = {**ModelPermissions.perms_map, "POST": ["%(app_label)s.change_%(model_name)s"]}

    def _queryset(self, view):
        return SystemHealth.objects.all()


class SystemHealthView(generics.GenericAPIView):
    queryset = selectors.system_list()
    serializer_class = HealthReportSerializer
    permission_classes = [HealthPermissions]

    @extend_schema(parameters=SYSTEM_ID_PARAMETERS, responses=HealthSerializer)
    def get(self, request, *args, **kwargs):
        system = self.get_object()
        return Response(health_data(selectors.system_health(system=system), selectors.system_impact(system=system)))

    @extend_schema(parameters=SYSTEM_ID_PARAMETERS, request=HealthReportSerializer, responses=HealthSerializer)
    def post(self, request, *args, **kwargs):
        system = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            health = services.health_report(
                system=system, **serializer.validated_data, actor=user_actor(request.user)
            )
        return Response(health_data(health, selectors.impact_of(system_id=system.pk)))
