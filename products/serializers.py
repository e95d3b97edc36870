"""Serializers for products and distributors' item codes."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from crm.api.serializers import AUDIT_FIELDS, TenantModelSerializer
from organizations.serializers import organization_summary
from products.models import Product, ProductDistributor


class ProductSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ("id", "name", "sku", "principal")
        read_only_fields = fields


def product_summary() -> type[serializers.Serializer]:
    return ProductSummarySerializer


class ProductSerializer(TenantModelSerializer):
    list_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal(0), required=False, allow_null=True
    )
    expandable = {"principal": organization_summary}

    class Meta:
        model = Product
        fields = (
            "id",
            "principal",
            "name",
            "sku",
            "category",
            "status",
            "pack_size",
            "unit_of_measure",
            "list_price",
            "description",
            *AUDIT_FIELDS,
        )
        read_only_fields = AUDIT_FIELDS


class ProductDistributorSerializer(TenantModelSerializer):
    expandable = {"product": product_summary, "distributor": organization_summary}

    class Meta:
        model = ProductDistributor
        fields = ("id", "product", "distributor", "vendor_item_number", *AUDIT_FIELDS)
        read_only_fields = AUDIT_FIELDS
