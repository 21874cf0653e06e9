"""HTTP caching of the public pages: `Cache-Control: public`, an `ETag` and `Last-Modified`, and 304s.

Django's `condition` decorator answers a conditional request from a fingerprint of the data, before the page
is rendered: a 304 costs four indexed look-ups instead of the page's queries and template. (The
ConditionalGetMiddleware would only compare the rendered body's hash, so every revalidation would pay for a
whole render.) The fingerprint moves whenever anything the pages show may have changed:
- the newest change event: every write of tracked state (health, impact, systems, groups, incidents,
  maintenance) appends one;
- the newest incident and maintenance `updated_at`: a comment-only update changes no tracked field but bumps
  its incident's or window's `updated_at`;
- the newest check result: the uptime bars and the chart follow the results;
- today's date (the 90-day bars move at midnight UTC), the page's settings and the request's language.
The pages are the same for every visitor (no form, no CSRF token, no session), so shared caches may keep them:
nothing on their path reads the session (ActorMiddleware looks the user up only when a request writes), so
no `Vary: Cookie` splits the cache per visitor.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import wraps

from django.conf import settings
from django.db.models import Max
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import get_language
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import condition

from automation.models import ChangeEvent
from checks.models import CheckResult
from incidents.models import Incident
from maintenance.models import MaintenanceWindow

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _fingerprint(request) -> tuple[str, datetime]:
    """(ETag, Last-Modified) of the public data, read once per request."""
    cached = getattr(request, "_status_fingerprint", None)
    if cached is not None:
        return cached
    change = ChangeEvent.objects.aggregate(id=Max("id"), at=Max("occurred_at"))  # primary key index
    incident = Incident.objects.aggregate(at=Max("updated_at"))["at"]
    window = MaintenanceWindow.objects.aggregate(at=Max("updated_at"))["at"]
    result = CheckResult.objects.aggregate(id=Max("id"), at=Max("at"))  # primary key index
    now = timezone.now()
    parts = [change["id"], incident, window, result["id"], now.astimezone(UTC).date(), get_language(),
             settings.CHECKSTACK_STATUS_NAME, settings.CHECKSTACK_STATUS_LOGO_URL, settings.CHECKSTACK_STATUS_ACCENT,
             request.path, request.META.get("QUERY_STRING", "")]
    etag = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    moments = [t for t in (change["at"], incident, window, result["at"]) if t is not None]
    # Never in the future (a clock skew between workers would make clients keep a stale page).
    last_modified = min(max(moments, default=EPOCH), now)
    request._status_fingerprint = (etag, last_modified)
    return request._status_fingerprint


def _etag(request, *args, **kwargs) -> str:
    return _fingerprint(request)[0]


def _last_modified(request, *args, **kwargs) -> datetime:
    return _fingerprint(request)[1]


def public_page(view):
    """Serve `view` as a public, cacheable page: conditional GET with 304s, `Cache-Control: public`, gzipped
    for clients that accept it (`Vary: Accept-Encoding`; a weak ETag then). Compression leaks nothing here
    (BREACH needs a secret in the body next to text the attacker controls; these pages have neither)."""
    conditional = gzip_page(condition(etag_func=_etag, last_modified_func=_last_modified)(view))

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = conditional(request, *args, **kwargs)
        if response.status_code in (200, 304):
            patch_cache_control(response, public=True, max_age=settings.CHECKSTACK_STATUS_CACHE_SECONDS)
        return response

    return wrapper
