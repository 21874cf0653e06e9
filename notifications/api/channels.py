"""channels/ CRUD and channels/{id}/test/: validate, call a channel service in a transaction, serialize.

Secret config parts are write-only: a representation shows the public parts only; a webhook channel's
generated signing secret appears once, in the create response.
"""

from django.db import IntegrityError, transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from automation.entities.actor import user_actor

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
class ChannelViewSet(viewsets.ModelViewSet):
    lookup_value_regex = "[^/]+"
    queryset = Channel.objects.prefetch_related("systems", "groups").order_by("name")
    serializer_class = ChannelSerializer
    # Sending a test message is using the channel as its editor would: the same permission as an edit.
    action_permissions = {"test": ["notifications.change_channel"]}

    def _represent(self, channel: Channel, code: int = status.HTTP_200_OK, *, secret: str | None = None):
        data = ChannelSerializer(self.get_queryset().get(pk=channel.pk)).data
        if secret is not None:
            data["config"] = {**data["config"], "secret": secret}  # shown this once; stored encrypted
        return Response(data, status=code)

    @extend_schema(request=ChannelWriteSerializer, responses={201: ChannelSerializer})
    def create(self, request, *args, **kwargs):
        serializer = ChannelWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            with transaction.atomic():
                created = services.channel_create(**serializer.validated_data, actor=user_actor(request.user))
        except ConfigError as exc:
            raise _config_errors(exc) from None
        except IntegrityError:
            raise serializers.ValidationError({"name": [NAME_TAKEN]}) from None
        return self._represent(created.channel, status.HTTP_201_CREATED, secret=created.webhook_secret)

    @extend_schema(request=ChannelWriteSerializer, responses=ChannelSerializer)
    def update(self, request, *args, **kwargs):
        channel = self.get_object()
        partial = kwargs.get("partial", False)
        serializer = ChannelWriteSerializer(channel, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        config = data.pop("config", None)
        if "config" not in request.data:
            config = None  # an update without config keeps the stored one (its secrets cannot be sent back)
        try:
            with transaction.atomic():
                services.channel_update(channel=channel, config=config, **data, actor=user_actor(request.user))
        except ConfigError as exc:
            raise _config_errors(exc) from None
        except IntegrityError:
            raise serializers.ValidationError({"name": [NAME_TAKEN]}) from None
        return self._represent(channel)

    def destroy(self, request, *args, **kwargs):
        channel = self.get_object()
        with transaction.atomic():
            services.channel_delete(channel=channel, actor=user_actor(request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=TEST_ANSWER,
                   parameters=[OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)])
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        result = services.channel_test(channel=self.get_object(), actor=user_actor(request.user))
        return Response({"ok": result.ok, "status_code": result.status_code, "body": result.body,
                         "error": result.error})
