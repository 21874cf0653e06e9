from django.urls import path
from rest_framework.routers import SimpleRouter

from .subscribers import SubscriberViewSet
from .views import SystemHealthView, SystemViewSet

router = SimpleRouter()
router.register("systems", SystemViewSet, basename="system")
router.register("subscribers", SubscriberViewSet, basename="subscriber")

urlpatterns = [
    *router.urls,
    path("systems/<str:pk>/health/", SystemHealthView.as_view(), name="system-health"),
]
