"""The shape every service-backed API write has, written once: the input serializer validates the body, the
service runs in the request's transaction with the actor, the row is re-read the way reads see it and the
output serializer (the viewset's `serializer_class`) renders it. Service errors go to foundation.api_errors."""

from contextlib import nullcontext

from django.db import transaction
from rest_framework import status, viewsets
from rest_framework.response import Response

from .entities.actor import user_actor


class ServiceViewSet(viewsets.GenericViewSet):
    """Writes through services; reads (list, retrieve) come from the mixins the viewset adds."""

    def service_arguments(self) -> dict:
        """Who acts, as the app's services take it."""
        return {"actor": user_actor(self.request.user)}

    def service_errors(self):
        """A context around the service call that turns the app's known races into API errors."""
        return nullcontext()

    def validated(self, body, *, instance=None, partial: bool = False) -> dict:
        """The request body validated by the input serializer class `body`."""
        serializer = body(instance, data=self.request.data, partial=partial, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def call_service(self, service, /, *, acting: bool = True, **arguments):
        """`service(**arguments)` in a transaction (the view is the outermost caller), with the actor."""
        with self.service_errors(), transaction.atomic():
            return service(**arguments, **(self.service_arguments() if acting else {}))

    def represent(self, row, code: int = status.HTTP_200_OK) -> Response:
        """The row re-read with the viewset's own queryset (its joins and prefetches), as committed."""
        fresh = self.queryset.all().get(pk=row.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    def service_write(self, service, body=None, *, code: int = status.HTTP_200_OK, shown=None, instance=None,
                      partial: bool = False, acting: bool = True, **arguments) -> Response:
        """Validate the body with `body`, call the service with it and `arguments`, render what it wrote
        (or `shown`, when the service returns something else, e.g. a posted update of the shown incident)."""
        data = self.validated(body, instance=instance, partial=partial) if body is not None else {}
        written = self.call_service(service, acting=acting, **arguments, **data)
        return self.represent(shown if shown is not None else written, code)

    def service_delete(self, service, /, *, acting: bool = True, **arguments) -> Response:
        self.call_service(service, acting=acting, **arguments)
        return Response(status=status.HTTP_204_NO_CONTENT)
