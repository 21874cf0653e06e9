"""Shapes of checks and their results in the API.

Input is parsed for type only here; the rules (lengths, ranges, targets, secrets) are the one validator's
(checks/validation.py), called in `validate` and again by the service on the locked row.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import System

from ..models import Check, CheckResult
from ..ping import ping_url
from ..result_errors import masked_error
from ..validation import CONFIG_FIELDS, check_field_errors

CONFIG_OUT = ["name", "kind", "enabled", "interval_seconds", "timeout_seconds", "url", "http_method",
              "expected_status_codes", "body_keyword", "headers", "tls_expiry_days", "json_assertion", "host", "port",
              "dns_name", "dns_record_type", "dns_expected", "dns_resolver", "dns_resolver_port",
              "heartbeat_grace_seconds", "location_ids", "health_quorum"]
STATE_OUT = ["last_ping_at", "next_run_at", "last_run_at", "last_ok", "last_error", "consecutive_failures",
             "created_at", "updated_at"]
# The heartbeat's ping URL is a credential (anyone holding it can report the system alive): only those who
# may change the check see it.
TOKEN_OUT = ["heartbeat_token", "ping_url"]
CHANGE_CHECK = "checks.change_check"


class CheckSerializer(serializers.ModelSerializer):
    system = serializers.UUIDField(source="system_id")
    last_error = serializers.SerializerMethodField()
    ping_url = serializers.SerializerMethodField()
    heartbeat_token = serializers.SerializerMethodField()
    location_ids = serializers.SerializerMethodField()

    class Meta:
        model = Check
        fields = ["id", "system", *CONFIG_OUT, *TOKEN_OUT, *STATE_OUT]
        read_only_fields = fields

    def _shows_token(self, check: Check) -> bool:
        request = self.context.get("request")
        return check.kind == "heartbeat" and request is not None and request.user.has_perm(CHANGE_CHECK)

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_location_ids(self, check: Check) -> list[str]:
        # Prefetched by the viewset: one query for the page.
        return sorted(str(p.location_id) for p in check.placements.all())

    def get_last_error(self, check: Check) -> str:
        return masked_error(check, check.last_error)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_heartbeat_token(self, check: Check) -> str | None:
        return check.heartbeat_token if self._shows_token(check) else None

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_ping_url(self, check: Check) -> str | None:
        return ping_url(check) if self._shows_token(check) else None


class CheckWriteSerializer(serializers.Serializer):
    """A check's configuration in; on a PATCH every field is optional."""

    system = serializers.UUIDField()
    name = serializers.CharField(allow_blank=True, trim_whitespace=False)
    kind = serializers.CharField()
    enabled = serializers.BooleanField(required=False)
    interval_seconds = serializers.IntegerField(required=False)
    timeout_seconds = serializers.IntegerField(required=False)
    url = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    http_method = serializers.CharField(required=False)
    expected_status_codes = serializers.ListField(child=serializers.IntegerField(), required=False)
    body_keyword = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    headers = serializers.DictField(child=serializers.CharField(allow_blank=True, trim_whitespace=False),
                                    required=False)
    tls_expiry_days = serializers.IntegerField(required=False, allow_null=True)
    json_assertion = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    host = serializers.CharField(required=False, allow_blank=True)
    port = serializers.IntegerField(required=False, allow_null=True)
    dns_name = serializers.CharField(required=False, allow_blank=True)
    dns_record_type = serializers.CharField(required=False)
    dns_expected = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    dns_resolver = serializers.CharField(required=False, allow_blank=True)
    dns_resolver_port = serializers.IntegerField(required=False)
    heartbeat_grace_seconds = serializers.IntegerField(required=False)
    location_ids = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=100)
    health_quorum = serializers.IntegerField(required=False, allow_null=True)

    def validate_system(self, value):
        system = System.objects.filter(pk=value).first()
        if system is None:
            raise serializers.ValidationError("No system has this id.")
        return system

    def validate(self, attrs):
        # The check as it will be: the instance's values (on an edit) under the ones sent.
        current = {name: getattr(self.instance, name) for name in CONFIG_FIELDS} if self.instance else {}
        errors = check_field_errors({**current, **{k: v for k, v in attrs.items() if k in CONFIG_FIELDS}})
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class CheckResultSerializer(serializers.ModelSerializer):
    class Meta:
        model = CheckResult
        fields = ["at", "ok", "latency_ms", "tls_days_left", "value", "error"]
        read_only_fields = fields


