"""/api/v1/slos/: list (filter by system), create, get, patch, delete, and the monthly report (JSON or CSV).

Figures (`sli_percent`, `budget_remaining_percent`, burn rates, `status`) are read-only and computed live for the
whole page at once (checks/slos/selectors.py), so a list costs the same few queries for any page size.
"""

import csv
import io

import django_filters
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, renderers, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from automation.service_views import ServiceViewSet
from catalog.models import System
from foundation.permissions import ActionAwarePermissions

from . import services
from .models import Indicator, Slo
from .reports import CSV_COLUMNS, parse_month, slo_report
from .selectors import slo_rows

SLO_ID = [OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)]
FIGURES = ["sli_percent", "budget_remaining_percent", "burn_rate_1h", "burn_rate_6h", "status"]


class SloSerializer(serializers.Serializer):
    """An objective as shown: its config and its live figures (the view computes them for the page)."""

    id = serializers.UUIDField()
    system_id = serializers.UUIDField()
    name = serializers.CharField()
    target_percent = serializers.FloatField()
    window_days = serializers.IntegerField()
    indicator = serializers.ChoiceField(choices=Indicator.choices)
    latency_threshold_ms = serializers.IntegerField(allow_null=True)
    sli_percent = serializers.FloatField(allow_null=True)
    budget_remaining_percent = serializers.FloatField()
    burn_rate_1h = serializers.FloatField()
    burn_rate_6h = serializers.FloatField()
    status = serializers.CharField()

    def to_representation(self, slo):
        figures = self.context.get("rows", {}).get(str(slo.pk))
        if figures is None:
            figures = slo_rows(slos=[slo])[0]
        return super().to_representation(figures)


class SloWriteSerializer(serializers.Serializer):
    """An objective's config in (types only; the rules are services.slo_field_errors); on a PATCH all optional."""

    system_id = serializers.UUIDField()
    name = serializers.CharField(allow_blank=True, trim_whitespace=False)
    target_percent = serializers.DecimalField(max_digits=20, decimal_places=10)
    window_days = serializers.IntegerField(required=False)
    indicator = serializers.CharField(required=False)
    latency_threshold_ms = serializers.IntegerField(required=False, allow_null=True)

    def validate_system_id(self, value):
        if self.instance is not None and value != self.instance.system_id:
            raise serializers.ValidationError("An objective stays with its system.")
        system = System.objects.filter(pk=value).first()
        if system is None:
            raise serializers.ValidationError("No system has this id.")
        return system

    def validate_target_percent(self, value):
        return value.normalize()

    def validate(self, attrs):
        current = {name: getattr(self.instance, name) for name in services.FIELDS} if self.instance else {
            "window_days": 30, "indicator": Indicator.AVAILABILITY, "latency_threshold_ms": None}
        if errors := services.slo_field_errors({**current, **attrs}):
            raise serializers.ValidationError(errors)
        return attrs


class CsvRenderer(renderers.BaseRenderer):
    """The report's days as CSV rows (`Accept: text/csv`)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        out = io.StringIO()
        if isinstance(data, dict) and "days" in data:
            writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
            writer.writeheader()
            writer.writerows({k: "" if v is None else v for k, v in day.items()} for day in data["days"])
        else:  # an error: its fields, one per line
            writer = csv.writer(out, lineterminator="\n")
            for key, value in (data or {}).items():
                writer.writerow([key, value])
        return out.getvalue().encode(self.charset)


class SloFilter(django_filters.FilterSet):
    system = django_filters.UUIDFilter(field_name="system_id")

    class Meta:
        model = Slo
        fields = ["system"]


@extend_schema(tags=["slos"])
@extend_schema_view(retrieve=extend_schema(parameters=SLO_ID), partial_update=extend_schema(parameters=SLO_ID),
                    destroy=extend_schema(parameters=SLO_ID))
class SloViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ServiceViewSet):
    lookup_value_regex = "[^/]+"
    queryset = Slo.objects.order_by("name", "pk")
    serializer_class = SloSerializer
    filterset_class = SloFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    permission_classes = [ActionAwarePermissions]
    action_permissions = {"report": ["checks.view_slo"]}

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        rows = {row["id"]: row for row in slo_rows(slos=list(page))}
        data = SloSerializer(page, many=True, context={**self.get_serializer_context(), "rows": rows}).data
        return self.get_paginated_response(data)

    @extend_schema(request=SloWriteSerializer, responses={201: SloSerializer})
    def create(self, request, *args, **kwargs):
        data = self.validated(SloWriteSerializer)
        slo = self.call_service(services.slo_create, system=data.pop("system_id"), **data)
        return self.represent(slo, status.HTTP_201_CREATED)

    @extend_schema(request=SloWriteSerializer, responses=SloSerializer)
    def partial_update(self, request, *args, **kwargs):
        slo = self.get_object()
        data = self.validated(SloWriteSerializer, instance=slo, partial=True)
        data.pop("system_id", None)
        return self.represent(self.call_service(services.slo_update, slo=slo, **data))

    def destroy(self, request, *args, **kwargs):
        return self.service_delete(services.slo_delete, slo=self.get_object())

    def handle_exception(self, exc):
        # Errors are JSON whatever was asked for (a CSV report's 400 or 404 too): clients parse one error shape.
        response = super().handle_exception(exc)
        self.request.accepted_renderer, self.request.accepted_media_type = renderers.JSONRenderer(), "application/json"
        return response

    @extend_schema(parameters=[*SLO_ID, OpenApiParameter("month", str, description="YYYY-MM")],
                   responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"], renderer_classes=[renderers.JSONRenderer, CsvRenderer])
    def report(self, request, pk=None):
        """Per day of the month: results, failures, SLI and budget used (JSON, or CSV with Accept: text/csv)."""
        slo = self.get_object()
        month = parse_month(request.query_params.get("month"))
        if month is None:
            raise ValidationError({"month": ["A month as YYYY-MM is required."]})
        report = slo_report(slo=slo, year=month[0], month=month[1], now=timezone.now())
        response = Response(report)
        if request.accepted_renderer.format == "csv":
            response["Content-Disposition"] = f'attachment; filename="slo-{slo.pk}-{report["month"]}.csv"'
        return response
