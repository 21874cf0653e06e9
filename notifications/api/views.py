"""subscribers/ CRUD for operators: validate, call a subscriber service in a transaction, serialize.

The link token is never part of any representation.
"""

from contextlib import contextmanager

import django_filters
from django.db import IntegrityError, transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response

from automation.entities.actor import user_actor

from .. import subscribers as services
from ..models import Subscriber
from ..subscribers import subscriber_list

ID = extend_schema(parameters=[OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)])


class SubscriberSerializer(serializers.ModelSerializer):
    system_ids = serializers.SerializerMethodField()
    group_ids = serializers.SerializerMethodField()

    class Meta:
        model = Subscriber
        fields = ["id", "email", "system_ids", "group_ids", "confirmed", "confirmed_at", "created_at", "updated_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_system_ids(self, subscriber: Subscriber) -> list[str]:
        return sorted(str(system.pk) for system in subscriber.systems.all())

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_group_ids(self, subscriber: Subscriber) -> list[str]:
        """Groups followed: every system in them, including systems added later."""
        return sorted(str(group.pk) for group in subscriber.groups.all())


class SubscriberWriteSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    # Existence is checked by the service (one rule for API, admin and the public form).
    system_ids = serializers.ListField(child=serializers.UUIDField(), required=False)
    group_ids = serializers.ListField(child=serializers.UUIDField(), required=False)
    confirmed = serializers.BooleanField(default=False)

    def validate(self, attrs):
        # Something to follow: a system or a group (checked on the result of a partial update too).
        current = self.instance
        systems = attrs.get("system_ids", None if current is None else [s.pk for s in current.systems.all()])
        groups = attrs.get("group_ids", None if current is None else [g.pk for g in current.groups.all()])
        if not systems and not groups:
            field = "system_ids" if "system_ids" in attrs or current is None else "group_ids"
            raise serializers.ValidationError({field: ["Choose at least one system or group."]})
        return attrs

    def validate_email(self, value: str) -> str:
        email = services.normalize_email(value)
        taken = Subscriber.objects.filter(email=email)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError(services.EMAIL_TAKEN)
        return email


class SubscriberFilter(django_filters.FilterSet):
    email = django_filters.CharFilter(field_name="email", lookup_expr="iexact")
    confirmed = django_filters.BooleanFilter()
    system = django_filters.UUIDFilter(field_name="systems__id")
    group = django_filters.UUIDFilter(field_name="groups__id")

    class Meta:
        model = Subscriber
        fields = ["email", "confirmed", "system", "group"]


@contextmanager
def _races():
    """A unique email taken, or a system deleted, by a concurrent request: a 400 (other service errors go to
    checkstack.api_errors like every view's)."""
    try:
        yield
    except IntegrityError as exc:
        raise serializers.ValidationError({"non_field_errors": ["Conflicting change; try again."]}) from exc


@extend_schema_view(retrieve=ID, update=ID, partial_update=ID, destroy=ID)
@extend_schema(tags=["subscribers"])
class SubscriberViewSet(viewsets.ModelViewSet):
    lookup_value_regex = "[^/]+"  # a malformed id is DRF's JSON 404, not the resolver's HTML one
    queryset = subscriber_list()
    serializer_class = SubscriberSerializer
    filterset_class = SubscriberFilter

    def _represent(self, subscriber: Subscriber, code: int = status.HTTP_200_OK) -> Response:
        return Response(SubscriberSerializer(subscriber_list().get(pk=subscriber.pk)).data, status=code)

    @extend_schema(request=SubscriberWriteSerializer, responses={201: SubscriberSerializer})
    def create(self, request, *args, **kwargs):
        serializer = SubscriberWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with _races(), transaction.atomic():
            subscriber = services.subscriber_create(**serializer.validated_data, actor=user_actor(request.user))
        return self._represent(subscriber, status.HTTP_201_CREATED)

    @extend_schema(request=SubscriberWriteSerializer, responses=SubscriberSerializer)
    def update(self, request, *args, **kwargs):
        subscriber = self.get_object()
        partial = kwargs.get("partial", False)
        serializer = SubscriberWriteSerializer(subscriber, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        with _races(), transaction.atomic():
            services.subscriber_update(
                subscriber=subscriber, **serializer.validated_data, actor=user_actor(request.user)
            )
        return self._represent(subscriber)

    def destroy(self, request, *args, **kwargs):
        subscriber = self.get_object()
        with transaction.atomic():
            services.subscriber_delete(subscriber=subscriber, actor=user_actor(request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)
