"""/api/v1/maintenances/: windows, their updates and closing; every write goes through the services."""


import django_filters
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from automation.entities.actor import user_actor
from foundation.permissions import ActionAwarePermissions

from ..models import OPEN_STATUSES, MaintenanceStatus, MaintenanceWindow
from ..selectors import maintenance_list
from ..services import (
    maintenance_add_update,
    maintenance_close,
    maintenance_create,
    maintenance_delete,
    maintenance_update,
)
from .serializers import (
    MaintenanceCloseSerializer,
    MaintenanceSerializer,
    MaintenanceUpdateCreateSerializer,
    MaintenanceWriteSerializer,
)


class MaintenanceFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=MaintenanceStatus.choices)
    system = django_filters.UUIDFilter(field_name="system_links__system_id")
    open = django_filters.BooleanFilter(method="filter_open", label="Scheduled or in progress")

    class Meta:
        model = MaintenanceWindow
        fields = ["status", "system", "open"]

    def filter_open(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(status__in=OPEN_STATUSES) if value else queryset.exclude(status__in=OPEN_STATUSES)


class MaintenanceViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    queryset = maintenance_list()
    serializer_class = MaintenanceSerializer
    filterset_class = MaintenanceFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    permission_classes = [ActionAwarePermissions]
    # Posting an update or closing changes the window: change, not add.
    action_permissions = {
        "updates": ["maintenance.change_maintenancewindow"],
        "close": ["maintenance.change_maintenancewindow"],
    }

    def _validated(self, serializer_class, **kwargs) -> dict:
        body = serializer_class(data=self.request.data, **kwargs)
        body.is_valid(raise_exception=True)
        return body.validated_data

    def _respond(self, window, code=status.HTTP_200_OK) -> Response:
        # Re-read with the list's prefetches so the response shows exactly what was committed.
        return Response(self.get_serializer(maintenance_list().get(pk=window.pk)).data, status=code)

    @extend_schema(request=MaintenanceWriteSerializer, responses={201: MaintenanceSerializer})
    def create(self, request):
        data = self._validated(MaintenanceWriteSerializer)
        with transaction.atomic():
            window = maintenance_create(actor=user_actor(request.user), **data)
        return self._respond(window, status.HTTP_201_CREATED)

    @extend_schema(request=MaintenanceWriteSerializer, responses={200: MaintenanceSerializer})
    def partial_update(self, request, pk=None):
        window = self.get_object()
        data = self._validated(MaintenanceWriteSerializer, partial=True)
        with transaction.atomic():
            window = maintenance_update(window=window, actor=user_actor(request.user), **data)
        return self._respond(window)

    def perform_destroy(self, instance):
        with transaction.atomic():
            maintenance_delete(window=instance, actor=user_actor(self.request.user))

    @extend_schema(request=MaintenanceUpdateCreateSerializer, responses={201: MaintenanceSerializer})
    @action(detail=True, methods=["post"])
    def updates(self, request, pk=None):
        window = self.get_object()
        data = self._validated(MaintenanceUpdateCreateSerializer)
        with transaction.atomic():
            maintenance_add_update(window=window, actor=user_actor(request.user), **data)
        return self._respond(window, status.HTTP_201_CREATED)

    @extend_schema(request=MaintenanceCloseSerializer, responses={200: MaintenanceSerializer})
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        window = self.get_object()
        data = self._validated(MaintenanceCloseSerializer)
        with transaction.atomic():
            maintenance_close(window=window, message=data.get("message"), actor=user_actor(request.user))
        return self._respond(window)
