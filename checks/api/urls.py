from rest_framework.routers import SimpleRouter

from .views import CheckViewSet

router = SimpleRouter()
router.register("checks", CheckViewSet, basename="check")

urlpatterns = router.urls
