"""automation-templates/: ready-made automations (list, detail with a preview) and install/."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from foundation.permissions import ActionAwarePermissions

from ..automation_templates import TEMPLATES, TemplateParameterError
from ..models import Automation
from ..services.automation_templates import (
    TemplateNotFound,
    automation_template_get,
    automation_template_install,
    automation_template_preview,
)
from .automations import AutomationSerializer
from .definitions import _RegistryViewSet


class InstallSerializer(serializers.Serializer):
    parameters = serializers.DictField(required=False, default=dict)
    name = serializers.CharField(required=False, max_length=200, min_length=1)
    enabled = serializers.BooleanField(required=False, default=True)


def template_info(template) -> dict:
    return {
        "id": template.id,
        "name": template.name,
        "description": template.description,
        "parameters_schema": template.parameters_schema(),
        "example_parameters": template.example,
        "document": automation_template_preview(template),
    }


class AutomationTemplateViewSet(_RegistryViewSet):
    """Any authenticated user may read templates; installing one creates an automation (add permission)."""

    permission_classes = [ActionAwarePermissions]
    queryset = Automation.objects.none()  # for the model permissions of install/
    action_permissions = {"list": [], "retrieve": [], "install": ["automation.add_automation"]}

    def _items(self):
        return TEMPLATES

    def _describe(self, item):
        return template_info(item)

    @extend_schema(request=InstallSerializer, responses={201: AutomationSerializer})
    @action(detail=True, methods=["post"])
    def install(self, request, pk=None):
        try:
            template = automation_template_get(pk)
        except TemplateNotFound:
            raise NotFound() from None
        body = InstallSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            automation = automation_template_install(
                template=template, parameters=body.validated_data["parameters"], editor=request.user,
                name=body.validated_data.get("name"), enabled=body.validated_data["enabled"])
        except TemplateParameterError as exc:
            raise serializers.ValidationError({"parameters": exc.errors}) from exc
        return Response(AutomationSerializer(automation).data, status=status.HTTP_201_CREATED)
