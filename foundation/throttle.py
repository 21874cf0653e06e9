"""Rate limits counted in Django's cache (fixed windows): the public subscribe form, the check ping URL."""

import hashlib
import time

from django.conf import settings
from django.core.cache import cache


def throttle_hit(*, scope: str, key: str, limit: int, window: int) -> int | None:
    """Count one request for `key`; the seconds until its window ends when it is over `limit`, else None."""
    now = time.time()
    bucket = int(now // window)
    # Hashed: addresses and IPs do not sit in the cache in clear.
    digest = hashlib.sha256(key.encode()).hexdigest()
    cache_key = f"checkstack:throttle:{scope}:{digest}:{bucket}"
    cache.add(cache_key, 0, timeout=window)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=window)
        count = 1
    if count > limit:
        return max(1, int((bucket + 1) * window - now))
    return None


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or the hop the trusted proxies recorded in X-Forwarded-For."""
    # Reverse proxies in front of the app: the client is that many hops from the right of X-Forwarded-For.
    proxies = getattr(settings, "CHECKSTACK_TRUSTED_PROXIES", 0)
    if proxies:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "")
