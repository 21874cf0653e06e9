"""GET /api/v1/transitions/: the field-level change log, newest first."""

import django_filters
from rest_framework import serializers, viewsets

from ..models import Transition


class TransitionSerializer(serializers.ModelSerializer):
    from_value = serializers.JSONField(allow_null=True)
    to_value = serializers.JSONField(allow_null=True)

    class Meta:
        model = Transition
        fields = ["kind", "entity_id", "field", "from_value", "to_value", "at", "actor", "change_id"]


class TransitionFilter(django_filters.FilterSet):
    class Meta:
        model = Transition
        fields = ["kind", "entity_id", "field", "change_id", "actor"]


class TransitionViewSet(viewsets.ReadOnlyModelViewSet):
    # Any id reaches the view, so a malformed one is DRF's JSON 404 rather than the URL resolver's HTML one.
    lookup_value_regex = "[^/]+"
    queryset = Transition.objects.order_by("-at", "-id")
    serializer_class = TransitionSerializer
    filterset_class = TransitionFilter
