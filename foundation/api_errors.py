"""Service errors to HTTP responses, once for every API view (`REST_FRAMEWORK["EXCEPTION_HANDLER"]`).

Views call services and let their errors through; this gives them the shapes docs/api.md lists: a Django
ValidationError is 400 `{field: [messages]}`, a document's problems 400 `{errors: [{path, message}]}`, a
PermissionDenied 403 with its message, a row that vanished under the service 404, an edit of an
automation that changed meanwhile 409 with its current version, and health from a source the system does not
take (a client's report while checks manage it) 409 with the system's health source. Apps' errors say which
they are by subclassing `foundation.service_errors`, so this module imports no app.
"""

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler, set_rollback

from .service_errors import ServiceConflict, ServiceInvalid


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, after service errors have become the API exceptions they mean."""
    if isinstance(exc, ServiceConflict):
        set_rollback()
        return Response({"detail": str(exc), **exc.fields()}, status=status.HTTP_409_CONFLICT)
    return exception_handler(as_api_exception(exc), context)


def as_api_exception(exc: Exception) -> Exception:
    """The API exception a service error means; any other exception unchanged."""
    if isinstance(exc, ServiceInvalid):
        return exceptions.ValidationError({"errors": exc.errors})
    if isinstance(exc, ValidationError):
        return exceptions.ValidationError(as_serializer_error(exc))
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, ObjectDoesNotExist):
        # The view found the row, then it was deleted before the service locked it.
        return exceptions.NotFound()
    return exc
