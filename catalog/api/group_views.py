"""groups/ and dependencies/ CRUD: validate, call a catalog service in a transaction, serialize."""

from django.db import transaction
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema_view
from rest_framework import status, viewsets
from rest_framework.response import Response

from automation.entities.actor import user_actor

from .. import dependencies, groups, selectors
from ..models import Group, System
from .serializers import DependencySerializer, GroupSerializer
from .views import SYSTEM_ID

ID = SYSTEM_ID  # any id reaches the view (a malformed one is a JSON 404); the schema says a UUID


@extend_schema_view(retrieve=ID, update=ID, partial_update=ID, destroy=ID)
class GroupViewSet(viewsets.ModelViewSet):
    lookup_value_regex = "[^/]+"
    # Systems prefetched by id only: `system_ids` costs one query for the whole page.
    queryset = Group.objects.order_by("position", "name").prefetch_related(
        Prefetch("systems", queryset=System.objects.only("id", "group_id")))
    serializer_class = GroupSerializer

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            group = groups.group_create(**serializer.validated_data, actor=user_actor(request.user))
        return Response(self.get_serializer(self._fresh(group)).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        group = self.get_object()
        serializer = self.get_serializer(group, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            groups.group_update(group=group, **serializer.validated_data, actor=user_actor(request.user))
        return Response(self.get_serializer(self._fresh(group)).data)

    def destroy(self, request, *args, **kwargs):
        group = self.get_object()
        with transaction.atomic():
            groups.group_delete(group=group, actor=user_actor(request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _fresh(self, group: Group) -> Group:
        return self.get_queryset().get(pk=group.pk)


@extend_schema_view(retrieve=ID, update=ID, partial_update=ID, destroy=ID)
class DependencyViewSet(viewsets.ModelViewSet):
    lookup_value_regex = "[^/]+"
    queryset = selectors.dependency_list()
    serializer_class = DependencySerializer
    filterset_fields = ["system_id", "depends_on_id", "impact"]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            dependency = dependencies.dependency_create(**serializer.validated_data, actor=user_actor(request.user))
        return Response(self.get_serializer(dependency).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        dependency = self.get_object()
        serializer = self.get_serializer(dependency, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            dependency = dependencies.dependency_update(dependency=dependency, **serializer.validated_data,
                                                       actor=user_actor(request.user))
        return Response(self.get_serializer(dependency).data)

    def destroy(self, request, *args, **kwargs):
        dependency = self.get_object()
        with transaction.atomic():
            dependencies.dependency_delete(dependency=dependency, actor=user_actor(request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)
