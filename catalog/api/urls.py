from django.urls import path
from rest_framework.routers import SimpleRouter

from .alertmanager import AlertmanagerView
from .group_views import DependencyViewSet, GroupViewSet
from .views import SystemHealthView, SystemViewSet

router = SimpleRouter()
router.register("systems", SystemViewSet, basename="system")
router.register("groups", GroupViewSet, basename="group")
router.register("dependencies", DependencyViewSet, basename="dependency")

urlpatterns = [
    *router.urls,
    path("systems/<str:pk>/health/", SystemHealthView.as_view(), name="system-health"),
    path("integrations/alertmanager/", AlertmanagerView.as_view(), name="integration-alertmanager"),
]
