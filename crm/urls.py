"""Root URLs: the admin, the API under /api/v1/, its schema and docs."""

from importlib import import_module

from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from crm import health
from crm.api.api_keys import ApiKeyViewSet
from crm.api.tenancy import FirmView, MemberViewSet, MeView, MyPasswordView
from crm.tokens import ActiveUserTokenRefreshView, SignInView, SignOutView

# Each entity app owns its routes (its urls.py: `routes`), named here by string: the core imports no app.
API_ROUTE_MODULES = (
    "organizations.urls",
    "contacts.urls",
    "products.urls",
    "opportunities.urls",
    "interactions.urls",
    "samples.urls",
    "tasks.urls",
)

router = DefaultRouter(trailing_slash=True)
router.register("members", MemberViewSet, basename="member")
router.register("api-keys", ApiKeyViewSet, basename="api-key")
for module in API_ROUTE_MODULES:
    for prefix, viewset, basename in import_module(module).routes:
        router.register(prefix, viewset, basename=basename)

api_v1: list[URLPattern | URLResolver] = [
    path("auth/token/", SignInView.as_view(), name="token-obtain"),
    path("auth/token/refresh/", ActiveUserTokenRefreshView.as_view(), name="token-refresh"),
    path("auth/logout/", SignOutView.as_view(), name="logout"),
    path("me/", MeView.as_view(), name="me"),
    path("me/password/", MyPasswordView.as_view(), name="me-password"),
    path("firm/", FirmView.as_view(), name="firm"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("reports/", include("reports.urls")),
    path("", include("imports.urls")),
    path("", include("opportunities.urls")),
    path("sales/", include("sales.urls")),
    path("changes/", include("changes.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("", include(router.urls)),
]

# Resolver misses under /api/ answer in problem details like every other API error (when DEBUG is off;
# with DEBUG on, Django shows its technical pages instead of any handler, and
# crm.api.problems.ApiProblemsMiddleware turns those into problems under /api/).
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
