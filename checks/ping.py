"""`/ping/<token>`: a heartbeat check's ping, the one anonymous write.

Token in the path (256 bits, unguessable), no session, no CSRF (clients are cron jobs and scripts), a tiny
plain-text answer. An unknown token costs one read on the token's unique index and writes nothing (not
even a rate-limit count), and is a 404 that says nothing more. A known token's pings are rate-limited per
token and per client in the shared cache (the subscribe form's limiter). The token is a credential: our own
log lines name the check's id, and the loggers that print paths redact it (checks/ping_logs.py).
"""

import logging
import re

from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from foundation.throttle import client_ip, throttle_hit

from .models import Check
from .services import heartbeat_find, heartbeat_ping

logger = logging.getLogger(__name__)

# What new_heartbeat_token makes (URL-safe base64); anything else is refused before the cache and database.
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def ping_url(check: Check) -> str:
    """The absolute URL a heartbeat's system pings (CHECKSTACK_PUBLIC_URL + /ping/<token>)."""
    return settings.CHECKSTACK_PUBLIC_URL.rstrip("/") + reverse("heartbeat-ping", args=[check.heartbeat_token])


def _plain(text: str, status: int, **headers) -> HttpResponse:
    response = HttpResponse(f"{text}\n", content_type="text/plain; charset=utf-8", status=status)
    response["Cache-Control"] = "no-store"
    for name, value in headers.items():
        response[name] = value
    return response


def _limited(check_id, token: str, request) -> int | None:
    """Count this ping against its token's and its client's limits; seconds to wait when over one."""
    window = settings.CHECKSTACK_PING_LIMIT_WINDOW_SECONDS
    # throttle_hit hashes the keys: neither the token nor the address sits in the cache in clear.
    for scope, key, limit in (("heartbeat-ping", token, settings.CHECKSTACK_PING_LIMIT_PER_TOKEN),
                              ("heartbeat-ping-client", client_ip(request), settings.CHECKSTACK_PING_LIMIT_PER_CLIENT)):
        wait = throttle_hit(scope=scope, key=key, limit=limit, window=window)
        if wait is not None:
            logger.warning("pings of heartbeat check %s refused: over the %s limit", check_id,
                           "per-token" if scope == "heartbeat-ping" else "per-client")
            return wait
    return None


@csrf_exempt
@require_http_methods(["GET", "POST", "HEAD"])
def ping(request, token: str):
    check_id = heartbeat_find(token=token) if TOKEN.match(token) else None
    if check_id is None:
        return _plain("not found", 404)
    wait = _limited(check_id, token, request)
    if wait is not None:
        return _plain("too many pings", 429, **{"Retry-After": str(wait)})
    heartbeat_ping(check_id=check_id)
    return _plain("OK", 200)
