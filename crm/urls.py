"""Root URLs: the admin, the API under /api/v1/, its schema and docs."""

from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from contacts.views import ContactViewSet
from crm import health
from crm.api.tenancy import MemberViewSet, MeView, MyPasswordView
from crm.tokens import ActiveUserTokenRefreshView, SignInView
from interactions.views import InteractionViewSet
from opportunities.views import OpportunityContactViewSet, OpportunityProductViewSet, OpportunityViewSet
from organizations.views import (
    CustomerDistributorViewSet,
    DistributorAuthorizationViewSet,
    OrganizationViewSet,
    PrincipalAssignmentViewSet,
)
from products.views import ProductDistributorViewSet, ProductViewSet

router = DefaultRouter(trailing_slash=True)
router.register("organizations", OrganizationViewSet, basename="organization")
router.register("contacts", ContactViewSet, basename="contact")
router.register("products", ProductViewSet, basename="product")
router.register("opportunities", OpportunityViewSet, basename="opportunity")
router.register("interactions", InteractionViewSet, basename="interaction")
router.register("members", MemberViewSet, basename="member")
router.register("principal-assignments", PrincipalAssignmentViewSet, basename="principal-assignment")
router.register(
    "distributor-authorizations", DistributorAuthorizationViewSet, basename="distributor-authorization"
)
router.register("customer-distributors", CustomerDistributorViewSet, basename="customer-distributor")
router.register("product-distributors", ProductDistributorViewSet, basename="product-distributor")
router.register("opportunity-products", OpportunityProductViewSet, basename="opportunity-product")
router.register("opportunity-contacts", OpportunityContactViewSet, basename="opportunity-contact")

api_v1: list[URLPattern | URLResolver] = [
    path("auth/token/", SignInView.as_view(), name="token-obtain"),
    path("auth/token/refresh/", ActiveUserTokenRefreshView.as_view(), name="token-refresh"),
    path("me/", MeView.as_view(), name="me"),
    path("me/password/", MyPasswordView.as_view(), name="me-password"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("reports/", include("reports.urls")),
    path("", include(router.urls)),
]

# Resolver misses under /api/ answer in problem details like every other API error (when DEBUG is off:
# with DEBUG on, Django shows its technical 404 page instead of any handler).
handler404 = "crm.api.problems.not_found"
handler400 = "crm.api.problems.bad_request"
handler403 = "crm.api.problems.permission_denied"
handler500 = "crm.api.problems.server_error"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
]

if settings.SILK_ENABLED:
    # Only when profiling is on (crm/profiling.py): readable by superusers alone.
    urlpatterns.append(path("silk/", include("silk.urls", namespace="silk")))
