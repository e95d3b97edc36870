"""Admin for products of the principals' lines and the distributors' item codes for them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from crm.admin_base import CrmInline, CrmModelAdmin, limit_choices, related_filter
from products.models import Product, ProductDistributor

limit_choices(Product, "principal", type="principal")
limit_choices(ProductDistributor, "distributor", type="distributor")


class ProductDistributorInline(CrmInline):
    """The distributors' own item codes, on the product's page."""

    model = ProductDistributor
    fields = ("distributor", "vendor_item_number")
    autocomplete_fields = ("distributor",)
    list_select_related = ("distributor", "product")  # both named by the row's label


@admin.register(Product)
class ProductAdmin(CrmModelAdmin):
    list_display = (
        "name",
        "sku",
        "principal",
        "category",
        "status",
        "pack_size",
        "unit_of_measure",
        "list_price",
    )
    list_filter = (related_filter("principal"), "category", "status")
    list_select_related = ("principal",)
    search_fields = ("name", "sku")
    search_help_text = "Words or word beginnings of the name or SKU."
    autocomplete_fields = ("principal",)
    fieldsets = (
        (None, {"fields": ("principal", "name", "sku", "category", "status")}),
        ("Packing and price", {"fields": ("pack_size", "unit_of_measure", "list_price")}),
        ("Description", {"fields": ("description",)}),
    )
    inlines = (ProductDistributorInline,)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        readonly = list(super().get_readonly_fields(request, obj))
        # A product stays in its principal's line (the database refuses a move).
        return [*readonly, "principal"] if obj is not None else readonly


@admin.register(ProductDistributor)
class ProductDistributorAdmin(CrmModelAdmin):
    list_display = ("vendor_item_number", "product", "distributor")
    list_filter = (related_filter("distributor"),)
    list_select_related = ("product", "distributor")
    search_fields = ("vendor_item_number", "product__sku")
    autocomplete_fields = ("product", "distributor")
    fields = ("product", "distributor", "vendor_item_number")


class ProductInline(CrmInline):
    """A principal's line, on the principal's page."""

    model = Product
    fk_name = "principal"
    fields = ("name", "sku", "category", "status", "pack_size", "unit_of_measure", "list_price")
