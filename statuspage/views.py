"""GET /status/: the public status page (no login, read-only, nothing internal)."""

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from .selectors import status_page


@require_safe
@cache_control(public=True, max_age=30)  # visitors and proxies may reuse it briefly; it refreshes every 60 s
def status(request):
    return render(request, "status/page.html", {"page": status_page(now=timezone.now())})
