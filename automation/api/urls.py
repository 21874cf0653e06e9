from rest_framework.routers import SimpleRouter

from .automations import AutomationViewSet
from .definitions import ActionViewSet, TriggerViewSet
from .runs import RunViewSet
from .secrets import SecretViewSet
from .templates import AutomationTemplateViewSet
from .transitions import TransitionViewSet

router = SimpleRouter()
router.register("transitions", TransitionViewSet, basename="transition")
router.register("automations", AutomationViewSet, basename="automation")
router.register("runs", RunViewSet, basename="run")
router.register("triggers", TriggerViewSet, basename="trigger")
router.register("actions", ActionViewSet, basename="action")
router.register("secrets", SecretViewSet, basename="secret")
router.register("automation-templates", AutomationTemplateViewSet, basename="automation-template")

urlpatterns = router.urls
