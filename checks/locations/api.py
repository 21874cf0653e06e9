"""/api/v1/locations/ (CRUD, token rotation) and the prober's API under /api/v1/prober/."""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, Throttled
from rest_framework.response import Response
from rest_framework.views import APIView

from automation.service_views import ServiceViewSet
from foundation.permissions import ActionAwarePermissions
from foundation.throttle import throttle_hit

from ..models import Location
from . import claims, services
from .auth import IsProber, LocationTokenAuthentication


class LocationSerializer(serializers.ModelSerializer):
    token = serializers.SerializerMethodField()

    class Meta:
        model = Location
        fields = ["id", "name", "description", "token", "status", "last_seen_at"]
        read_only_fields = ["id", "token", "status", "last_seen_at"]
        extra_kwargs = {"name": {"validators": []}}  # the unique name is the service's (a 400 either way)

    def get_token(self, location) -> str | None:
        # Write-once: shown in the answer to a create or a rotation only, never stored in clear.
        return self.context.get("token")


@extend_schema(tags=["locations"])
class LocationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ServiceViewSet):
    lookup_value_regex = "[^/]+"
    queryset = Location.objects.order_by("name")
    serializer_class = LocationSerializer
    permission_classes = [ActionAwarePermissions]
    action_permissions = {"rotate_token": ["checks.change_location"]}

    def _issued(self, issued, code):
        fresh = self.queryset.all().get(pk=issued.location.pk)
        return Response(LocationSerializer(fresh, context={"token": issued.token}).data, status=code)

    def create(self, request, *args, **kwargs):
        data = self.validated(LocationSerializer)
        issued = self.call_service(services.location_create, **data)
        return self._issued(issued, status.HTTP_201_CREATED)

    def update(self, request, *args, partial=False, **kwargs):
        location = self.get_object()
        return self.service_write(services.location_update, LocationSerializer, instance=location, partial=partial,
                                  location=location)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request, *args, **kwargs):
        return self.service_delete(services.location_delete, location=self.get_object())

    @extend_schema(request=None, responses=LocationSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-token")
    def rotate_token(self, request, pk=None):
        """A new token for the location's prober; the old one stops working at once."""
        issued = self.call_service(services.location_token_rotate, location=self.get_object())
        return self._issued(issued, status.HTTP_200_OK)


class BatchTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "batch_too_large"


class ClaimSerializer(serializers.Serializer):
    max = serializers.IntegerField(min_value=1, required=False)


class ResultSerializer(serializers.Serializer):
    claim = serializers.CharField(max_length=64, allow_blank=True)
    check_id = serializers.UUIDField()
    at = serializers.DateTimeField(required=False, allow_null=True)
    ok = serializers.BooleanField()
    latency_ms = serializers.IntegerField(min_value=0, max_value=2_147_483_647, required=False, allow_null=True)
    error = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    tls_days_left = serializers.IntegerField(required=False, allow_null=True, min_value=-100_000, max_value=100_000)
    value = serializers.FloatField(required=False, allow_null=True)


class ProberView(APIView):
    """Authenticated by a location's token; each location has its own request budget."""

    authentication_classes = [LocationTokenAuthentication]
    permission_classes = [IsProber]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        wait = throttle_hit(scope="prober", key=str(request.auth.pk), limit=settings.CHECKSTACK_PROBER_RATE_LIMIT,
                            window=60)
        if wait is not None:
            raise Throttled(wait)


class ClaimsAnswer(serializers.Serializer):
    claims = serializers.ListField(child=serializers.DictField())


class ResultsBody(serializers.Serializer):
    results = ResultSerializer(many=True)


class ResultsAnswer(serializers.Serializer):
    accepted = serializers.IntegerField()
    refused = serializers.ListField(child=serializers.DictField())


class HeartbeatAnswer(serializers.Serializer):
    status = serializers.CharField()
    location_id = serializers.UUIDField()


class HeartbeatView(ProberView):
    @extend_schema(tags=["prober"], request=None, responses=HeartbeatAnswer)
    def post(self, request):
        services.location_heartbeat(location_id=request.auth.pk)
        return Response({"status": "online", "location_id": str(request.auth.pk)})


class ClaimView(ProberView):
    @extend_schema(tags=["prober"], request=ClaimSerializer, responses=ClaimsAnswer)
    def post(self, request):
        body = ClaimSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        limit = min(body.validated_data.get("max", settings.CHECKSTACK_PROBER_MAX_BATCH),
                    settings.CHECKSTACK_PROBER_MAX_BATCH)
        return Response({"claims": claims.prober_claim(location_id=request.auth.pk, limit=limit)})


class ResultsView(ProberView):
    @extend_schema(tags=["prober"], request=ResultsBody, responses={200: ResultsAnswer, 409: ResultsAnswer})
    def post(self, request):
        results = request.data.get("results") if isinstance(request.data, dict) else None
        if not isinstance(results, list):
            raise serializers.ValidationError({"results": ["A list of results is required."]})
        if len(results) > settings.CHECKSTACK_PROBER_MAX_BATCH:
            raise BatchTooLarge(f"At most {settings.CHECKSTACK_PROBER_MAX_BATCH} results per batch.")
        body = ResultSerializer(data=results, many=True)
        body.is_valid(raise_exception=True)
        accepted, refused = claims.prober_results_record(location_id=request.auth.pk, results=body.validated_data)
        answer = {"accepted": accepted, "refused": [{"index": r.index, "reason": r.reason} for r in refused]}
        # Nothing recorded from a non-empty batch: the prober holds no valid claim (409), say so plainly.
        code = status.HTTP_409_CONFLICT if refused and not accepted else status.HTTP_200_OK
        return Response(answer, status=code)
