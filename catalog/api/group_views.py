"""groups/ and dependencies/ CRUD: validate, call a catalog service in a transaction, serialize."""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema_view
from rest_framework import mixins, status

from automation.service_views import ServiceViewSet

from .. import dependencies, groups, selectors
from ..models import Group, System
from .serializers import DependencySerializer, GroupSerializer
from .views import SYSTEM_ID

ID = SYSTEM_ID  # any id reaches the view (a malformed one is a JSON 404); the schema says a UUID


class CrudServiceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ServiceViewSet):
    """Create, update and delete through the `create`, `update` and `delete` services the subclass names."""

    lookup_value_regex = "[^/]+"
    services: dict
    instance_argument: str

    def create(self, request, *args, **kwargs):
        return self.service_write(self.services["create"], self.serializer_class, code=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        row = self.get_object()
        return self.service_write(self.services["update"], self.serializer_class, instance=row,
                                  partial=kwargs.get("partial", False), **{self.instance_argument: row})

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request, *args, **kwargs):
        return self.service_delete(self.services["delete"], **{self.instance_argument: self.get_object()})


@extend_schema_view(retrieve=ID, update=ID, partial_update=ID, destroy=ID)
class GroupViewSet(CrudServiceViewSet):
    # Systems prefetched by id only: `system_ids` costs one query for the whole page.
    queryset = Group.objects.order_by("position", "name").prefetch_related(
        Prefetch("systems", queryset=System.objects.only("id", "group_id")))
    serializer_class = GroupSerializer
    services = {"create": groups.group_create, "update": groups.group_update, "delete": groups.group_delete}
    instance_argument = "group"


@extend_schema_view(retrieve=ID, update=ID, partial_update=ID, destroy=ID)
class DependencyViewSet(CrudServiceViewSet):
    queryset = selectors.dependency_list()
    serializer_class = DependencySerializer
    filterset_fields = ["system_id", "depends_on_id", "impact"]
    services = {"create": dependencies.dependency_create, "update": dependencies.dependency_update,
                "delete": dependencies.dependency_delete}
    instance_argument = "dependency"
