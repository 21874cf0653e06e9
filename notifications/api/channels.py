"""channels/ CRUD and channels/{id}/test/: validate, call a channel service in a transaction, serialize.

Secret config parts are write-only: a representation shows the public parts only; a webhook channel's
generated signing secret appears once, in the create response.
"""

from contextlib import contextmanager

from django.db import IntegrityError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from automation.entities.actor import user_actor
from automation.service_views import ServiceViewSet

from ..channels import services
from ..channels.kinds import ConfigError
from ..channels.models import Channel, ChannelEvent, ChannelKind

ID = extend_schema(parameters=[OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)])
NAME_TAKEN = "A channel with this name already exists."


class ChannelSerializer(serializers.ModelSerializer):
    system_ids = serializers.SerializerMethodField()
    group_ids = serializers.SerializerMethodField()

    class Meta:
        model = Channel
        fields = ["id", "name", "kind", "enabled", "config", "system_ids", "group_ids", "events",
                  "created_at", "updated_at"]
        read_only_fields = fields

    def get_system_ids(self, channel: Channel) -> list[str]:
        return sorted(str(system.pk) for system in channel.systems.all())

    def get_group_ids(self, channel: Channel) -> list[str]:
        return sorted(str(group.pk) for group in channel.groups.all())


class ChannelWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=ChannelKind.choices)
    enabled = serializers.BooleanField(default=True)
    config = serializers.DictField(default=dict)
    system_ids = serializers.ListField(child=serializers.UUIDField(), default=list, max_length=1000)
    group_ids = serializers.ListField(child=serializers.UUIDField(), default=list, max_length=1000)
    events = serializers.ListField(child=serializers.ChoiceField(choices=ChannelEvent.choices), default=list)

    def validate_name(self, value: str) -> str:
        taken = Channel.objects.filter(name=value)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError(NAME_TAKEN)
        return value


def _config_errors(exc: ConfigError) -> serializers.ValidationError:
    if set(exc.errors) == {"kind"}:
        return serializers.ValidationError(exc.errors)
    return serializers.ValidationError({"config": exc.errors})


TEST_ANSWER = inline_serializer("ChannelTestAnswer", {
    "ok": serializers.BooleanField(), "status_code": serializers.IntegerField(allow_null=True),
    "body": serializers.CharField(), "error": serializers.CharField(allow_null=True)})


@extend_schema_view(retrieve=ID, update=ID, partial_update=ID, destroy=ID)
@extend_schema(tags=["channels"])
class ChannelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ServiceViewSet):
    lookup_value_regex = "[^/]+"
    queryset = Channel.objects.prefetch_related("systems", "groups").order_by("name")
    serializer_class = ChannelSerializer
    # Sending a test message is using the channel as its editor would: the same permission as an edit.
    action_permissions = {"test": ["notifications.change_channel"]}

    @contextmanager
    def service_errors(self):
        try:
            yield
        except ConfigError as exc:
            raise _config_errors(exc) from None
        except IntegrityError:
            raise serializers.ValidationError({"name": [NAME_TAKEN]}) from None

    @extend_schema(request=ChannelWriteSerializer, responses={201: ChannelSerializer})
    def create(self, request, *args, **kwargs):
        created = self.call_service(services.channel_create, **self.validated(ChannelWriteSerializer))
        response = self.represent(created.channel, status.HTTP_201_CREATED)
        if created.webhook_secret is not None:  # shown this once; stored encrypted
            response.data["config"] = {**response.data["config"], "secret": created.webhook_secret}
        return response

    @extend_schema(request=ChannelWriteSerializer, responses=ChannelSerializer)
    def update(self, request, *args, **kwargs):
        channel = self.get_object()
        data = self.validated(ChannelWriteSerializer, instance=channel, partial=kwargs.get("partial", False))
        config = data.pop("config", None)
        if "config" not in request.data:
            config = None  # an update without config keeps the stored one (its secrets cannot be sent back)
        self.call_service(services.channel_update, channel=channel, config=config, **data)
        return self.represent(channel)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request, *args, **kwargs):
        return self.service_delete(services.channel_delete, channel=self.get_object())

    @extend_schema(request=None, responses=TEST_ANSWER,
                   parameters=[OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)])
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        result = services.channel_test(channel=self.get_object(), actor=user_actor(request.user))
        return Response({"ok": result.ok, "status_code": result.status_code, "body": result.body,
                         "error": result.error})
