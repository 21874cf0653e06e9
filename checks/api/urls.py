from rest_framework.routers import SimpleRouter

from ..slos.api import SloViewSet
from .views import CheckViewSet

router = SimpleRouter()
router.register("checks", CheckViewSet, basename="check")
router.register("slos", SloViewSet, basename="slo")

urlpatterns = router.urls
