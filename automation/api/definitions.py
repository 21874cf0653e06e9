"""triggers/ and actions/: what automations can use, with JSON Schemas of payloads and configs."""

from rest_framework import permissions, serializers, viewsets
from rest_framework.response import Response

from ..definitions import definitions


def _schema(model) -> dict | None:
    return model.model_json_schema() if model is not None else None


def trigger_info(trigger) -> dict:
    return {
        "id": trigger.id,
        "description": trigger.description,
        "context_key": trigger.context_key_field,
        "entity_kind": trigger.entity_kind,
        "payload_schema": _schema(trigger.payload_schema),
        "config_schema": _schema(trigger.config_schema),
    }


def action_info(action) -> dict:
    return {
        "id": action.id,
        "description": action.description,
        "version": action.version,
        "produces": action.produces,
        "consumes": list(action.consumes),
        "permissions": list(action.permissions),
        "secret_fields": list(action.secret_fields),  # the config keys where secret() may stand
        "config_schema": _schema(action.config_schema),
    }


class RegistryEntrySerializer(serializers.Serializer):
    """For the schema generator only; a bare Serializer would be an unnamed (invalid) schema component."""


class _RegistryViewSet(viewsets.ViewSet):
    """Read-only listing of a registry table; any authenticated user may read it."""

    permission_classes = [permissions.IsAuthenticated]
    lookup_value_regex = "[^/]+"
    serializer_class = RegistryEntrySerializer

    def _items(self):
        raise NotImplementedError

    def list(self, request):
        items = [self._describe(item) for _, item in sorted(self._items().items())]
        return Response({"count": len(items), "next": None, "previous": None, "results": items})

    def retrieve(self, request, pk=None):
        item = self._items().get(pk)
        if item is None:
            from rest_framework.exceptions import NotFound

            raise NotFound()
        return Response(self._describe(item))


class TriggerViewSet(_RegistryViewSet):
    def _items(self):
        return definitions.triggers

    def _describe(self, item):
        return trigger_info(item)


class ActionViewSet(_RegistryViewSet):
    def _items(self):
        return definitions.actions

    def _describe(self, item):
        return action_info(item)
