"""Routes of the imports API (under /api/v1/)."""

from rest_framework.routers import SimpleRouter

from imports.views import ImportViewSet

router = SimpleRouter(trailing_slash=True)
router.register("imports", ImportViewSet, basename="import")

urlpatterns = router.urls
