"""The prober's authentication: `Authorization: Bearer <location token>`, looked up by its SHA-256."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission

from ..models import Location
from .tokens import token_digest


class ProberUser:
    """The request's user for a prober: not a person, holds no model permission."""

    is_authenticated = True
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, location: Location):
        self.location = location

    def get_username(self) -> str:
        # Implicit writes of a prober's request are attributed to its location (actor "user:location:<name>").
        return f"location:{self.location.name}"

    def has_perm(self, *_args) -> bool:
        return False


class LocationTokenAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header.")
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        # The digest is looked up on its unique index; the token has 256 bits, so no timing attack applies.
        location = Location.objects.filter(token_hash=token_digest(token)).first()
        if location is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        return ProberUser(location), location

    def authenticate_header(self, request):
        return "Bearer"


class IsProber(BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.auth, Location)


class LocationTokenScheme(OpenApiAuthenticationExtension):
    """The prober's Bearer token in the OpenAPI schema."""

    target_class = LocationTokenAuthentication
    name = "locationToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A location's prober token."}
