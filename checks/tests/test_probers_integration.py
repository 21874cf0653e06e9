"""Three real prober processes (no database, no broker) against a real web server on PostgreSQL.

Each prober's target guard has its own allow-list, which makes a network path fail from some locations
only: `0.0.0.0` and `::` (unspecified addresses, reaching this host's loopback) are refused unless listed.
"""

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from catalog.models import SystemHealth
from catalog.tests.factories import make_system
from checks.locations.services import location_create, locations_sweep
from checks.models import Check, CheckResult, Location

from .config_factories import make_check
from .prober_processes import start_prober, start_web
from .servers import HttpTarget

pytestmark = [pytest.mark.integration]
ACTOR = "user:test"


class Ok(BaseHTTPRequestHandler):
    def do_GET(self):  # http.server's naming
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *_args):
        pass


class Ipv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True


def _status(system):
    return SystemHealth.objects.filter(pk=system.pk).values_list("status", flat=True).first()


def _until(predicate, timeout: float, what: str) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)
    return time.monotonic() - start


def test_three_probers_run_their_checks_and_the_quorum_decides(integration, tmp_path, settings):
    settings.CHECKSTACK_CHECKS_ALLOWLIST = ["0.0.0.0", "::"]  # the core lets these be saved; each prober decides
    settings.CHECKSTACK_PROBER_OFFLINE_SECONDS = 3
    v6 = Ipv6Server(("::1", 0), Ok)
    threading.Thread(target=v6.serve_forever, daemon=True).start()
    with HttpTarget() as v4:
        issued = {name: location_create(name=name, actor=ACTOR) for name in ("eu", "us", "ap")}
        eu, us, ap = (issued[n].location for n in ("eu", "us", "ap"))
        everywhere = [str(loc.pk) for loc in (eu, us, ap)]
        one_path = make_system("one-path", health_source="checks", health_failure_threshold=1)
        two_paths = make_system("two-paths", health_source="checks", health_failure_threshold=1)
        make_check(one_path, url=f"http://0.0.0.0:{v4.port}/", location_ids=everywhere)
        make_check(two_paths, url=f"http://[::]:{v6.server_address[1]}/", location_ids=everywhere)
        only_eu = make_check(make_system("eu-only"), url=f"{v4.url}/", location_ids=[str(eu.pk)])
        us_ap = make_check(make_system("us-ap"), url=f"{v4.url}/", location_ids=[str(us.pk), str(ap.pk)])
        web, url = start_web(tmp_path)
        allow = {"eu": "0.0.0.0,::", "us": "0.0.0.0", "ap": ""}
        probers = {name: start_prober(tmp_path, name, url, issued[name].token, CHECKSTACK_CHECKS_ALLOWLIST=allow[name])
                   for name in ("eu", "us", "ap")}
        try:
            # 0.0.0.0 fails from ap only (1 of 3): healthy. :: fails from us and ap (2 of 3): unhealthy.
            _until(lambda: _status(one_path) == "healthy" and _status(two_paths) == "unhealthy"
                   and Check.objects.filter(pk__in=[only_eu.pk, us_ap.pk], last_ok=True).count() == 2,
                   timeout=30, what="the first results")
            assert set(Location.objects.values_list("status", flat=True)) == {"online"}
            ran_from = lambda check: set(CheckResult.objects.filter(check_ref=check)  # noqa: E731
                                         .values_list("location__name", flat=True))
            _until(lambda: ran_from(us_ap) == {"us", "ap"}, timeout=15, what="us-ap from both")
            assert ran_from(only_eu) == {"eu"}
            assert not CheckResult.objects.filter(location__isnull=True).exists()  # no central run
            refused = CheckResult.objects.filter(check_ref__system=one_path, location=ap).first()
            assert refused is not None and not refused.ok and "CHECKSTACK_CHECKS_ALLOWLIST" in refused.error

            probers["eu"].kill()
            killed_at = time.monotonic()
            _until(lambda: bool(locations_sweep()) or Location.objects.get(pk=eu.pk).status == "offline",
                   timeout=20, what="eu offline")
            offline_after = time.monotonic() - killed_at
            assert offline_after <= settings.CHECKSTACK_PROBER_OFFLINE_SECONDS + 10 + 1  # a heartbeat is 10 s apart
            assert Location.objects.get(pk=eu.pk).status == "offline"
            only_eu.refresh_from_db()
            assert only_eu.last_ok is None  # no data, not a failure
            # The others decide: us passes, ap fails 0.0.0.0 (1 of 2, below the majority); both fail ::.
            assert _status(one_path) == "healthy" and _status(two_paths) == "unhealthy"
            assert set(Location.objects.exclude(pk=eu.pk).values_list("status", flat=True)) == {"online"}
        finally:
            for prober in probers.values():
                prober.stop()
            web.stop()
            v6.shutdown()


def test_a_prober_restarted_mid_run_never_runs_a_due_run_twice(integration, tmp_path):
    eu = location_create(name="eu", actor=ACTOR)
    with HttpTarget(delay=1.5) as target:
        web, url = start_web(tmp_path, CHECKSTACK_PROBER_LEASE_MARGIN_SECONDS=2)
        first = start_prober(tmp_path, "eu-1", url, eu.token)
        # Created once the prober polls, so its first due time is now and the next ones 10 s apart.
        check = make_check(make_system("slow"), url=f"{target.url}/", interval_seconds=10, timeout_seconds=3,
                           location_ids=[str(eu.location.pk)])
        second = None
        try:
            _until(lambda: len(target.requests) == 1, timeout=20, what="the first run to start")
            first.kill()  # mid-run: its claim's result is never posted
            second = start_prober(tmp_path, "eu-2", url, eu.token)
            _until(lambda: CheckResult.objects.filter(check_ref=check).count() >= 2, timeout=40,
                   what="two runs after the restart")
        finally:
            for prober in (first, second):
                if prober is not None:
                    prober.stop()
            web.stop()
        starts = [r["at"] for r in target.requests]
    # One request per due time (10 s apart, a little jitter): the lost run is lost, never run a second time.
    gaps = [later - earlier for earlier, later in zip(starts, starts[1:], strict=False)]
    assert gaps and min(gaps) > 8, gaps
    results = list(CheckResult.objects.filter(check_ref=check).order_by("at").values_list("at", flat=True))
    assert len(results) == len(starts) - 1  # the killed run posted nothing; every other run exactly once
