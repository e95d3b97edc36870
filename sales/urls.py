"""Routes of the sales API (under /api/v1/sales/)."""

from rest_framework.routers import SimpleRouter

from sales.views import ColumnMappingViewSet, CustomerAliasViewSet, SalesFactViewSet, SalesUnmatchedViewSet

router = SimpleRouter(trailing_slash=True)
router.register("facts", SalesFactViewSet, basename="sales-fact")
router.register("unmatched", SalesUnmatchedViewSet, basename="sales-unmatched")
router.register("aliases", CustomerAliasViewSet, basename="sales-alias")
router.register("mappings", ColumnMappingViewSet, basename="sales-mapping")

urlpatterns = router.urls
