"""GET /status/: the public status page (no login, read-only, nothing internal)."""

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from .selectors import status_page


@require_safe
# Browsers may reuse it briefly (it refreshes every 60 s). Not shared caches: the subscribe form's CSRF token
# belongs to one visitor's cookie.
@cache_control(private=True, max_age=30)
def status(request):
    return render(request, "status/page.html", {"page": status_page(now=timezone.now())})
