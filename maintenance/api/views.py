"""/api/v1/maintenances/: windows, their updates and closing; every write goes through the services."""


import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action

from automation.service_views import ServiceViewSet
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


class MaintenanceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ServiceViewSet):
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

    @extend_schema(request=MaintenanceWriteSerializer, responses={201: MaintenanceSerializer})
    def create(self, request):
        return self.service_write(maintenance_create, MaintenanceWriteSerializer, code=status.HTTP_201_CREATED)

    @extend_schema(request=MaintenanceWriteSerializer, responses={200: MaintenanceSerializer})
    def partial_update(self, request, pk=None):
        return self.service_write(maintenance_update, MaintenanceWriteSerializer, partial=True,
                                  window=self.get_object())

    def destroy(self, request, pk=None):
        return self.service_delete(maintenance_delete, window=self.get_object())

    @extend_schema(request=MaintenanceUpdateCreateSerializer, responses={201: MaintenanceSerializer})
    @action(detail=True, methods=["post"])
    def updates(self, request, pk=None):
        window = self.get_object()
        return self.service_write(maintenance_add_update, MaintenanceUpdateCreateSerializer, window=window,
                                  shown=window, code=status.HTTP_201_CREATED)

    @extend_schema(request=MaintenanceCloseSerializer, responses={200: MaintenanceSerializer})
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        window = self.get_object()
        return self.service_write(maintenance_close, MaintenanceCloseSerializer, window=window, shown=window)
