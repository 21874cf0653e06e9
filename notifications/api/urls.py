from rest_framework.routers import SimpleRouter

from .channels import ChannelViewSet
from .views import SubscriberViewSet

router = SimpleRouter()
router.register("subscribers", SubscriberViewSet, basename="subscriber")
router.register("channels", ChannelViewSet, basename="channel")

urlpatterns = router.urls
