"""API views for products and distributor item codes."""

from __future__ import annotations

from crm.api.viewsets import TenantModelViewSet
from products import filters, serializers


class ProductViewSet(TenantModelViewSet):
    """The principals' products."""

    serializer_class = serializers.ProductSerializer
    filterset_class = filters.ProductFilter
    searchable = True
    ordering = ("name", "id")
    ordering_fields = ("id", "name", "sku", "created_at", "updated_at")


class ProductDistributorViewSet(TenantModelViewSet):
    """Distributors' own item codes for products."""

    serializer_class = serializers.ProductDistributorSerializer
    filterset_class = filters.ProductDistributorFilter
    ordering = ("-id",)
