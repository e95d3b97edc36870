"""URLs of webhook endpoints, included under /api/v1/webhooks/."""

from rest_framework.routers import SimpleRouter

from webhooks.views import WebhookEndpointViewSet

router = SimpleRouter(trailing_slash=True)
router.register("", WebhookEndpointViewSet, basename="webhook")

urlpatterns = router.urls
