"""Service errors to HTTP responses, once for every API view (`REST_FRAMEWORK["EXCEPTION_HANDLER"]`).

Views call services and let their errors through; this gives them the shapes docs/api.md lists: a Django
ValidationError is 400 `{field: [messages]}`, a document's problems 400 `{errors: [{path, message}]}`, a
PermissionDenied 403 with its message, a row that vanished under the service 404, an edit of an
automation that changed meanwhile 409 with its current version, and health from a source the system does not
take (a client's report while checks manage it) 409 with the system's health source.
"""

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler, set_rollback

from automation.services.automation_save import DocumentInvalid
from automation.services.automations import AutomationConflict
from catalog.services import HealthSourceConflict


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, after service errors have become the API exceptions they mean."""
    if isinstance(exc, AutomationConflict):
        set_rollback()
        return Response({"detail": str(exc), "version": exc.current}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, HealthSourceConflict):
        set_rollback()
        return Response({"detail": str(exc), "health_source": exc.source}, status=status.HTTP_409_CONFLICT)
    return exception_handler(as_api_exception(exc), context)


def as_api_exception(exc: Exception) -> Exception:
    """The API exception a service error means; any other exception unchanged."""
    if isinstance(exc, DocumentInvalid):
        return exceptions.ValidationError({"errors": exc.errors})
    if isinstance(exc, ValidationError):
        return exceptions.ValidationError(as_serializer_error(exc))
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, ObjectDoesNotExist):
        # The view found the row, then it was deleted before the service locked it.
        return exceptions.NotFound()
    return exc
