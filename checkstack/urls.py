from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path, reverse_lazy
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from checks.ping import ping

from .health import healthz
from .metrics import metrics

api_v1 = [
    path("", include("automation.api.urls")),
    path("", include("maintenance.api.urls")),
    path("", include("catalog.api.urls")),
    path("", include("incidents.api.urls")),
    path("", include("notifications.api.urls")),
    path("", include("checks.api.urls")),
]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="status"), name="root"),  # the public face: the status page
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # A browser without a session is sent to the admin login (then back here); API clients get the
    # schema's 401 (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]).
    path("api/docs/", login_required(SpectacularSwaggerView.as_view(url_name="schema"),
                                     login_url=reverse_lazy("admin:login")), name="api-docs"),
    path("status/subscribe/", include("notifications.urls")),
    path("status/", include("statuspage.urls")),
    path("healthz", healthz, name="healthz"),
    # A heartbeat check's ping: the one anonymous write (checks/ping.py).
    path("ping/<str:token>", ping, name="heartbeat-ping"),
    path("metrics", metrics, name="metrics"),
]


def handler404(request, exception=None):
    """JSON 404 under /api/ (clients parse it); Django's page elsewhere."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found

    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)
