from django.urls import path
from rest_framework.routers import SimpleRouter

from ..locations.api import ClaimView, HeartbeatView, LocationViewSet, ResultsView
from ..slos.api import SloViewSet
from .views import CheckViewSet

router = SimpleRouter()
router.register("checks", CheckViewSet, basename="check")
router.register("locations", LocationViewSet, basename="location")
router.register("slos", SloViewSet, basename="slo")

urlpatterns = [
    *router.urls,
    path("prober/heartbeat/", HeartbeatView.as_view(), name="prober-heartbeat"),
    path("prober/claim/", ClaimView.as_view(), name="prober-claim"),
    path("prober/results/", ResultsView.as_view(), name="prober-results"),
]
