"""automations/: the document as the body (JSON or YAML), one validator, enable/disable/run.

Saves go through `automation_save`; its errors (document 400, permission 403, version 409) become responses
in `foundation.api_errors`, like every view's.
"""

import django_filters
from django.contrib.auth import get_user_model
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from foundation.json_text import validate_no_nul_characters
from foundation.permissions import ActionAwarePermissions

from ..documents.validate import validate_document
from ..engine.inspection.simulate import simulate
from ..engine.inspection.why import DEFAULT_LIMIT, MAX_LIMIT, why_fired
from ..entities.actor import user_actor
from ..models import Automation, ChangeEvent
from ..secrets import secret_names
from ..services.automation_save import automation_save
from ..services.automations import automation_delete, automation_set_enabled
from ..services.runs import automation_run_now, simulate_change
from .parsers import DocumentJSONParser, TextYAMLParser, YAMLParser


class AutomationSerializer(serializers.ModelSerializer):
    run_as = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Automation
        fields = ["id", "version", "enabled", "managed_by", "run_as", "created_at", "updated_at", "document"]


class ManualRunSerializer(serializers.Serializer):
    trigger_id = serializers.CharField(required=False, allow_blank=False)
    payload = serializers.DictField(required=False, default=dict, validators=[validate_no_nul_characters])


class SimulateSerializer(serializers.Serializer):
    event = serializers.CharField(required=False)
    trigger_id = serializers.CharField(required=False)
    payload = serializers.DictField(required=False, default=dict, validators=[validate_no_nul_characters])
    context_key = serializers.CharField(required=False, allow_null=True, default=None)
    change_event_id = serializers.UUIDField(required=False, help_text="simulate a real, stored change instead")

    def validate(self, data):
        if not data.get("event") and not data.get("change_event_id"):
            raise serializers.ValidationError({"event": ["give an event (with its payload) or a change_event_id"]})
        return data


class WhySerializer(serializers.Serializer):
    entity_id = serializers.CharField(help_text="the entity (context key) to explain; a system id also finds the "
                                                "incidents and maintenance windows that list it")
    since = serializers.DateTimeField(required=False, default=None, help_text="only changes from this time on")
    limit = serializers.IntegerField(required=False, default=DEFAULT_LIMIT, min_value=1, max_value=MAX_LIMIT,
                                     help_text="how many of the entity's latest changes to replay")


def expected_version(request) -> int | None:
    """The version an edit was based on, from `If-Match: "<version>"` (the ETag of GET); None without one."""
    header = request.headers.get("If-Match", "").strip()
    if not header or header == "*":
        return None
    try:
        return int(header.removeprefix("W/").strip('"'))
    except ValueError:
        raise serializers.ValidationError({"If-Match": ['must be the ETag of the automation, e.g. "3"']}) from None


class AutomationFilter(django_filters.FilterSet):
    class Meta:
        model = Automation
        fields = ["enabled", "managed_by", "name"]


class AutomationViewSet(viewsets.ModelViewSet):
    lookup_value_regex = "[^/]+"
    queryset = Automation.objects.select_related("run_as").order_by("name")
    serializer_class = AutomationSerializer
    filterset_class = AutomationFilter
    parser_classes = [DocumentJSONParser, YAMLParser, TextYAMLParser]
    permission_classes = [ActionAwarePermissions]
    # validate/ writes nothing; run/, enable/ and disable/ change an existing automation.
    action_permissions = {
        "validate": ["automation.view_automation"],
        "run": ["automation.change_automation"],
        "enable": ["automation.change_automation"],
        "disable": ["automation.change_automation"],
        "simulate": ["automation.view_automation"],
        "why": ["automation.view_automation", "automation.view_run"],
    }

    def _run_as(self, request):
        name = request.query_params.get("run_as")
        if not name:
            return request.user
        user = get_user_model().objects.filter(username=name).first()
        if user is None:
            raise serializers.ValidationError({"run_as": [f"no user named {name!r}"]})
        return user

    @extend_schema(request={"application/json": dict, "application/yaml": str}, responses=AutomationSerializer)
    def create(self, request, *args, **kwargs):
        automation = automation_save(document=request.data, editor=request.user, run_as=self._run_as(request))
        return Response(self.get_serializer(automation).data, status=status.HTTP_201_CREATED)

    @extend_schema(request={"application/json": dict, "application/yaml": str}, responses=AutomationSerializer)
    def update(self, request, *args, **kwargs):
        automation = self.get_object()
        data = request.data
        if kwargs.get("partial"):
            data = {**automation.document, **dict(data)}
        run_as = self._run_as(request) if request.query_params.get("run_as") else None
        automation = automation_save(document=data, editor=request.user, automation=automation, run_as=run_as,
                                     expected_version=expected_version(request))
        return self._with_etag(Response(self.get_serializer(automation).data), automation)

    def retrieve(self, request, *args, **kwargs):
        automation = self.get_object()
        return self._with_etag(Response(self.get_serializer(automation).data), automation)

    @staticmethod
    def _with_etag(response, automation):
        response["ETag"] = f'"{automation.version}"'
        return response

    def destroy(self, request, *args, **kwargs):
        with transaction.atomic():
            automation_delete(automation=self.get_object(), actor=user_actor(request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request={"application/json": dict}, responses=None)
    @action(detail=False, methods=["post"])
    def validate(self, request):
        result = validate_document(request.data, known_secrets=secret_names())
        return Response({"valid": not result.errors, "errors": result.errors})

    @extend_schema(request=SimulateSerializer, responses={200: dict})
    @action(detail=True, methods=["post"])
    def simulate(self, request, pk=None):
        automation = self.get_object()
        serializer = SimulateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data.get("change_event_id"):
            try:
                return Response(simulate_change(automation, change_id=data["change_event_id"]))
            except ChangeEvent.DoesNotExist:
                raise NotFound("no change event with that id") from None
        return Response(simulate(automation, event=data["event"], payload=data["payload"],
                                 trigger_id=data.get("trigger_id"), context_key=data["context_key"]))

    @extend_schema(parameters=[WhySerializer], request=None, responses={200: dict})
    @action(detail=True, methods=["get"], url_path="why")
    def why(self, request, pk=None):
        """Why (not) did it fire: the entity's recent changes replayed gate by gate, with the runs they made."""
        automation = self.get_object()
        query = WhySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(why_fired(automation=automation, **query.validated_data))

    def _set_enabled(self, request, enabled: bool):
        with transaction.atomic():
            automation = automation_set_enabled(automation=self.get_object(), enabled=enabled,
                                                actor=user_actor(request.user))
        return Response(self.get_serializer(automation).data)

    @extend_schema(request=None, responses=AutomationSerializer)
    @action(detail=True, methods=["post"])
    def enable(self, request, pk=None):
        return self._set_enabled(request, True)

    @extend_schema(request=None, responses=AutomationSerializer)
    @action(detail=True, methods=["post"])
    def disable(self, request, pk=None):
        return self._set_enabled(request, False)

    @extend_schema(request=ManualRunSerializer, responses={201: dict})
    @action(detail=True, methods=["post"])
    def run(self, request, pk=None):
        automation = self.get_object()
        serializer = ManualRunSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            run = automation_run_now(automation=automation, user=request.user, **serializer.validated_data)
        return Response({"run_id": str(run.pk)}, status=status.HTTP_201_CREATED)

