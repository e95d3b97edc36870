"""List filters for products."""

from __future__ import annotations

import django_filters

from crm.api.filtering import TenantFilterSet, id_filter
from products.models import Product, ProductCategory, ProductDistributor, ProductStatus


class ProductFilter(TenantFilterSet):
    principal = id_filter("principal_id")
    category = django_filters.MultipleChoiceFilter(choices=ProductCategory.choices)
    status = django_filters.MultipleChoiceFilter(choices=ProductStatus.choices)
    sku = django_filters.CharFilter(lookup_expr="iexact")
    min_price = django_filters.NumberFilter(field_name="list_price", lookup_expr="gte")
    max_price = django_filters.NumberFilter(field_name="list_price", lookup_expr="lte")

    class Meta:
        model = Product
        fields: list[str] = []


class ProductDistributorFilter(TenantFilterSet):
    product = id_filter("product_id")
    distributor = id_filter("distributor_id")
    vendor_item_number = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = ProductDistributor
        fields: list[str] = []
