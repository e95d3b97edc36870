"""Products's API routes, registered under /api/v1/ by crm/urls.py (which names this module by string)."""

from products.views import ProductDistributorViewSet, ProductViewSet

# (URL prefix, viewset, basename) for the API's router.
routes = [
    ("products", ProductViewSet, "product"),
    ("product-distributors", ProductDistributorViewSet, "product-distributor"),
]
