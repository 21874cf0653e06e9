"""`/ping/<token>`: a heartbeat check's ping, the one anonymous write.

Token in the path (256 bits, unguessable), rate-limited per token in the shared cache (the subscribe form's
limiter), no session, no CSRF (clients are cron jobs and scripts), a tiny plain-text answer. An unknown token
is a 404 that says nothing more, and the view reaches nothing but `heartbeat_ping`.
"""

import re

from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from foundation.throttle import throttle_hit

from .models import Check
from .services import heartbeat_ping

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


@csrf_exempt
@require_http_methods(["GET", "POST", "HEAD"])
def ping(request, token: str):
    if not TOKEN.match(token):
        return _plain("not found", 404)
    wait = throttle_hit(scope="heartbeat-ping", key=token, limit=settings.CHECKSTACK_PING_LIMIT_PER_TOKEN,
                        window=settings.CHECKSTACK_PING_LIMIT_WINDOW_SECONDS)
    if wait is not None:
        return _plain("too many pings", 429, **{"Retry-After": str(wait)})
    if not heartbeat_ping(token=token):
        return _plain("not found", 404)
    return _plain("OK", 200)
