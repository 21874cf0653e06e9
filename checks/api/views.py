"""/api/v1/checks/: list (filter by system, kind, enabled), create, get, patch, delete, recent results, and a new
heartbeat token. Validate, call a checks service in a transaction, serialize."""

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError

from automation.service_views import ServiceViewSet
from foundation.permissions import ActionAwarePermissions

from .. import services
from ..models import Check, CheckKind
from ..result_errors import masked_errors
from .serializers import CheckResultSerializer, CheckSerializer, CheckWriteSerializer

# The route takes any id (a malformed one is a JSON 404); the schema says what a valid one looks like.
CHECK_ID_PARAMETERS = [OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)]
CHECK_ID = extend_schema(parameters=CHECK_ID_PARAMETERS)


class CheckFilter(django_filters.FilterSet):
    system = django_filters.UUIDFilter(field_name="system_id")
    kind = django_filters.ChoiceFilter(choices=CheckKind.choices)
    enabled = django_filters.BooleanFilter()

    class Meta:
        model = Check
        fields = ["system", "kind", "enabled"]


@extend_schema(tags=["checks"])
@extend_schema_view(retrieve=CHECK_ID, partial_update=CHECK_ID, destroy=CHECK_ID)
class CheckViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ServiceViewSet):
    # Any id reaches the view, so a malformed one is DRF's JSON 404 rather than the URL resolver's HTML one.
    lookup_value_regex = "[^/]+"
    queryset = Check.objects.select_related("system").prefetch_related("placements").order_by("system__name", "name")
    serializer_class = CheckSerializer
    filterset_class = CheckFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    permission_classes = [ActionAwarePermissions]
    # Results are reads of the check; a new token changes it.
    action_permissions = {"results": ["checks.view_check", "checks.view_checkresult"],
                          "regenerate_token": ["checks.change_check"]}

    def service_arguments(self) -> dict:
        # Checks are not tracked entities: their services take the editing user (for its secret rights).
        return {"editor": self.request.user}

    @extend_schema(request=CheckWriteSerializer, responses={201: CheckSerializer})
    def create(self, request, *args, **kwargs):
        return self.service_write(services.check_create, CheckWriteSerializer, code=status.HTTP_201_CREATED)

    @extend_schema(request=CheckWriteSerializer, responses=CheckSerializer)
    def partial_update(self, request, *args, **kwargs):
        check = self.get_object()
        return self.service_write(services.check_update, CheckWriteSerializer, instance=check, partial=True,
                                  check=check)

    def destroy(self, request, *args, **kwargs):
        return self.service_delete(services.check_delete, acting=False, check=self.get_object())

    @extend_schema(parameters=CHECK_ID_PARAMETERS, responses=CheckResultSerializer(many=True))
    @action(detail=True, methods=["get"])
    def results(self, request, pk=None):
        """The check's results, newest first (paginated)."""
        check = self.get_object()
        page = self.paginate_queryset(check.results.order_by("-at", "-id"))
        data = CheckResultSerializer(page, many=True).data
        for row, error in zip(data, masked_errors(check, [row["error"] for row in data]), strict=True):
            row["error"] = error
        return self.get_paginated_response(data)

    @extend_schema(parameters=CHECK_ID_PARAMETERS, request=None, responses=CheckSerializer)
    @action(detail=True, methods=["post"], url_path="regenerate-token")
    def regenerate_token(self, request, pk=None):
        """A new ping URL for a heartbeat check; the old one stops working."""
        check = self.get_object()
        if check.kind != CheckKind.HEARTBEAT:
            raise ValidationError({"kind": ["Only heartbeat checks have a ping token."]})
        return self.service_write(services.heartbeat_token_regenerate, acting=False, check=check)
