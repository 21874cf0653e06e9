"""Checks Checkstack runs against a system, what each run found, and its daily summaries.

A check is configuration plus its scheduling state (next due time, lease); it is not reactive state: what a
check finds reaches the engine only through the system's health, written by the health service when the
status changes.
"""

import secrets
import uuid

from django.db import models

from automation.entities.tracked import TrackedModel
from catalog.models import System

MIN_INTERVAL_SECONDS = 10
MAX_INTERVAL_SECONDS = 86_400
MAX_TIMEOUT_SECONDS = 60
ERROR_MAX_LENGTH = 300


class CheckKind(models.TextChoices):
    HTTP = "http", "HTTP"
    TCP = "tcp", "TCP"
    DNS = "dns", "DNS"
    HEARTBEAT = "heartbeat", "Heartbeat"
    PING = "ping", "Ping (ICMP)"


class HttpMethod(models.TextChoices):
    GET = "GET"
    HEAD = "HEAD"
    POST = "POST"


class DnsRecordType(models.TextChoices):
    A = "A"
    AAAA = "AAAA"
    CNAME = "CNAME"
    MX = "MX"
    NS = "NS"
    TXT = "TXT"


def new_heartbeat_token() -> str:
    """An unguessable token for a heartbeat's ping URL (256 bits)."""
    return secrets.token_urlsafe(32)


class LocationStatus(models.TextChoices):
    ONLINE = "online"
    OFFLINE = "offline"


class Location(TrackedModel):
    """A place checks run from: a remote prober that claims its checks over the API with its token."""

    entity_kind_name = "location"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    # SHA-256 of the token (256 random bits: a fast hash is enough); the token itself is shown once.
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # Offline until its first heartbeat; the sweeper sets it offline again after a silence.
    status = models.CharField(max_length=10, choices=LocationStatus.choices, default=LocationStatus.OFFLINE,
                              editable=False)
    last_seen_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Check(models.Model):
    """One probe of a system, run every `interval_seconds` (a heartbeat's period)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    system = models.ForeignKey(System, on_delete=models.CASCADE, related_name="checks")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=CheckKind.choices)
    enabled = models.BooleanField(default=True)
    interval_seconds = models.PositiveIntegerField(default=60)
    timeout_seconds = models.PositiveIntegerField(default=10)

    # http
    url = models.URLField(max_length=2000, blank=True)
    http_method = models.CharField(max_length=10, choices=HttpMethod.choices, default=HttpMethod.GET)
    # Status codes that count as success; empty means any 2xx.
    expected_status_codes = models.JSONField(default=list, blank=True)
    body_keyword = models.CharField(max_length=200, blank=True)
    # {name: value}; a value may name a secret (`{{ secret("NAME") }}`), resolved only when the check runs.
    headers = models.JSONField(default=dict, blank=True)
    # https: fail when the certificate expires in fewer days than this (null: days left are recorded only).
    tls_expiry_days = models.PositiveIntegerField(null=True, blank=True)
    # A bare expression over response.json / .status / .headers (checks/assertions.py); empty: none.
    json_assertion = models.TextField(blank=True)

    # tcp
    host = models.CharField(max_length=253, blank=True)
    port = models.PositiveIntegerField(null=True, blank=True)

    # dns
    dns_name = models.CharField(max_length=253, blank=True)
    dns_record_type = models.CharField(max_length=10, choices=DnsRecordType.choices, default=DnsRecordType.A)
    dns_expected = models.CharField(max_length=500, blank=True)  # empty: any answer passes
    dns_resolver = models.CharField(max_length=45, blank=True)  # an IP address; empty: the system resolver
    dns_resolver_port = models.PositiveIntegerField(default=53)

    # heartbeat: the system pings /ping/<token>; no ping for interval + grace means failing.
    heartbeat_token = models.CharField(max_length=64, unique=True, default=new_heartbeat_token, editable=False)
    heartbeat_grace_seconds = models.PositiveIntegerField(default=60)
    last_ping_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Scheduling state, written by the scheduler only.
    next_run_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set while a run is in flight; a run is not started again before it passes (no overlapping runs).
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    last_run_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_ok = models.BooleanField(null=True, editable=False)
    last_error = models.CharField(max_length=ERROR_MAX_LENGTH, blank=True, editable=False)
    last_latency_ms = models.PositiveIntegerField(null=True, blank=True, editable=False)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)

    # Where it runs from: none means the central workers; with some, the `last_*` state above is the
    # quorum of the locations' own states (checks/locations/quorum.py).
    locations = models.ManyToManyField(Location, through="CheckLocation", related_name="checks", blank=True)
    # Locations that must fail for the check to fail; None: a majority of the locations reporting.
    health_quorum = models.PositiveIntegerField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["system__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["system", "name"], name="check_name_unique_per_system"),
            models.CheckConstraint(condition=models.Q(kind__in=CheckKind.values), name="check_kind_valid"),
            models.CheckConstraint(
                condition=models.Q(interval_seconds__gte=MIN_INTERVAL_SECONDS,
                                   interval_seconds__lte=MAX_INTERVAL_SECONDS),
                name="check_interval_in_range",
            ),
            models.CheckConstraint(
                condition=models.Q(timeout_seconds__gte=1, timeout_seconds__lte=MAX_TIMEOUT_SECONDS),
                name="check_timeout_in_range",
            ),
        ]
        indexes = [
            # The scheduler's claim: enabled checks due now, earliest first.
            models.Index(fields=["next_run_at"], condition=models.Q(enabled=True), name="check_due"),
            # The scheduler's in-flight count: leases not yet released.
            models.Index(fields=["lease_until"], condition=models.Q(lease_until__isnull=False), name="check_leased"),
        ]

    def __str__(self):
        return f"{self.system} / {self.name}"


class CheckLocation(models.Model):
    """A check run from one location: that location's scheduling state (lease, fence) and its last result."""

    id = models.BigAutoField(primary_key=True)
    check_ref = models.ForeignKey(Check, on_delete=models.CASCADE, related_name="placements", db_column="check_id")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="placements")
    next_run_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # The fence: a random token per claim; only a result carrying the current one is recorded, once.
    lease_token = models.CharField(max_length=64, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_ok = models.BooleanField(null=True)
    last_error = models.CharField(max_length=ERROR_MAX_LENGTH, blank=True)
    last_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["check_ref", "location"], name="check_location_unique"),
        ]
        indexes = [
            # A prober's claim: its location's placements due now, earliest first.
            models.Index(fields=["location", "next_run_at"], name="check_location_due"),
        ]

    def __str__(self):
        return f"{self.check_ref_id} @ {self.location_id}"


class CheckResult(models.Model):
    """What one run of a check found: compact, one row per run, purged by the retention settings."""

    id = models.BigAutoField(primary_key=True)
    check_ref = models.ForeignKey(Check, on_delete=models.CASCADE, related_name="results", db_column="check_id")
    at = models.DateTimeField()
    ok = models.BooleanField()
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=ERROR_MAX_LENGTH, blank=True)  # masked, cut to fit
    # An https check's certificate: whole days until it expires (negative once expired).
    tls_days_left = models.IntegerField(null=True, blank=True)
    # The number a JSON assertion yielded, if it yielded one (check.numeric_state's `value`).
    value = models.FloatField(null=True, blank=True)
    # Where it ran from; None: the central workers.
    location = models.ForeignKey(Location, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-at"]
        indexes = [
            # A check's recent results (health rule, admin, charts) and the retention purge by age.
            models.Index(fields=["check_ref", "-at"], name="checkresult_check_at"),
            models.Index(fields=["at"], name="checkresult_at"),
        ]

    def __str__(self):
        return f"{self.check_ref_id} {self.at:%Y-%m-%d %H:%M:%S} {'ok' if self.ok else 'failed'}"


class CheckDailyRollup(models.Model):
    """One check's runs of one UTC day, summarised: kept long after the results are purged."""

    id = models.BigAutoField(primary_key=True)
    check_ref = models.ForeignKey(Check, on_delete=models.CASCADE, related_name="rollups", db_column="check_id")
    day = models.DateField()
    runs = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    latency_p50_ms = models.PositiveIntegerField(null=True, blank=True)
    latency_p95_ms = models.PositiveIntegerField(null=True, blank=True)
    latency_max_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["check_ref", "day"], name="rollup_one_per_check_day"),
        ]

    def __str__(self):
        return f"{self.check_ref_id} {self.day}: {self.runs - self.failures}/{self.runs}"


class CheckBucketRollup(models.Model):
    """One check's runs of one quarter hour, written with each result: the last 24 hours of the status page.

    The response times themselves are kept (a quarter hour holds at most 90 runs of a check: one every 10 s),
    so a system's 95th percentile over several checks is exact; the page never reads raw results.
    """

    id = models.BigAutoField(primary_key=True)
    check_ref = models.ForeignKey(Check, on_delete=models.CASCADE, related_name="buckets", db_column="check_id")
    start = models.DateTimeField()  # on the UTC 15-minute grid
    runs = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    latencies = models.JSONField(default=list)  # the runs' response times in ms, sorted; runs without one absent

    class Meta:
        ordering = ["-start"]
        constraints = [
            models.UniqueConstraint(fields=["check_ref", "start"], name="bucket_one_per_check_start"),
        ]
        indexes = [
            # The status page's last 24 hours of every system, and the retention purge by age.
            models.Index(fields=["start"], name="bucket_start"),
        ]

    def __str__(self):
        return f"{self.check_ref_id} {self.start:%Y-%m-%d %H:%M}: {self.runs - self.failures}/{self.runs}"


class SystemDailyHistory(models.Model):
    """A system's daily roll-ups of the last 90 days in one row: the status page's bars for a whole fleet.

    Rewritten from CheckDailyRollup by every roll-up refresh (checks/history.py); the page reads one row per
    system instead of one per system and day.
    """

    system = models.OneToOneField(System, primary_key=True, on_delete=models.CASCADE, related_name="daily_history")
    last_day = models.DateField()  # the day of the refresh (then still running): `days` ends with it
    days = models.JSONField(default=list)  # [[runs, failures], ...], oldest first, summed over the system's checks
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.system_id} until {self.last_day}"


from .numeric_models import NumericWatch  # noqa: E402,F401
from .slos.models import Slo, SloDayTally  # noqa: E402,F401  (models of the checks app, kept in their package)
