from rest_framework.routers import SimpleRouter

from .transitions import TransitionViewSet

router = SimpleRouter()
router.register("transitions", TransitionViewSet, basename="transition")

urlpatterns = router.urls
