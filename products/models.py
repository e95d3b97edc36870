"""Products of the principals' lines, and distributors' item codes for them."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import Value
from django.db.models.functions import Replace

from crm.db import Ref, immutable, references_trigger
from crm.models import TenantModel, name_of, tenant_row_triggers
from crm.text import NameKey, max_length_check, normalized_text_check, visible_text_check

DESCRIPTION_MAX_LENGTH = 10_000


class ProductCategory(models.TextChoices):
    BEVERAGES = "beverages", "Beverages"
    DAIRY = "dairy", "Dairy"
    FROZEN = "frozen", "Frozen"
    FRESH_PRODUCE = "fresh_produce", "Fresh produce"
    MEAT_POULTRY = "meat_poultry", "Meat & poultry"
    SEAFOOD = "seafood", "Seafood"
    DRY_GOODS = "dry_goods", "Dry goods"
    SNACKS = "snacks", "Snacks"
    CONDIMENTS = "condiments", "Condiments"
    BAKING = "baking", "Baking"
    OTHER = "other", "Other"


class ProductStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    DISCONTINUED = "discontinued", "Discontinued"
    SEASONAL = "seasonal", "Seasonal"
    COMING_SOON = "coming_soon", "Coming soon"


class Product(TenantModel):
    # Lists of a non-admin merge one index range per principal of their book (crm.api.pagination).
    book_scope_column = "principal_id"
    # Stored NFC, without control or invisible characters (crm.text); the API and admin normalise them.
    normalized_text_fields = ("name", "sku")

    principal = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="products", db_constraint=False
    )
    name = models.CharField(max_length=200)
    sku = models.CharField(max_length=64)
    category = models.CharField(max_length=20, choices=ProductCategory.choices, default=ProductCategory.OTHER)
    status = models.CharField(max_length=16, choices=ProductStatus.choices, default=ProductStatus.ACTIVE)
    pack_size = models.CharField(max_length=64, blank=True, help_text='e.g. "6/5 lb" or "24/12 oz".')
    unit_of_measure = models.CharField(max_length=16, default="case", help_text="case, each, lb, …")
    list_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    description = models.TextField(blank=True, max_length=DESCRIPTION_MAX_LENGTH)
    # The parser reads "CHK-1001" as 'chk' and '-1001' (a signed number) while a search for it asks for
    # chk:* & 1001:*, so the SKU is indexed a second time with its hyphens as spaces.
    search_vector = models.GeneratedField(
        expression=SearchVector("name", "sku", Replace("sku", Value("-"), Value(" ")), config="simple"),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        db_table = "product"
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["tenant", "principal", "name"], name="product_principal_name"),
            GinIndex(fields=["search_vector"], name="product_search"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(category__in=ProductCategory.values), name="product_category_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=ProductStatus.values), name="product_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(list_price__isnull=True) | models.Q(list_price__gte=Decimal(0)),
                name="product_list_price_not_negative",
                violation_error_message="list_price must be zero or more.",
            ),
            models.CheckConstraint(condition=~models.Q(name=""), name="product_name_not_blank"),
            models.CheckConstraint(condition=~models.Q(sku=""), name="product_sku_not_blank"),
            normalized_text_check("product", "name"),
            visible_text_check("product", "name"),
            normalized_text_check("product", "sku"),
            visible_text_check("product", "sku"),
            max_length_check("product", "description", DESCRIPTION_MAX_LENGTH),
            # SKUs compared as people read them (crm_name_key: NFKC, case, spaces).
            models.UniqueConstraint(
                "principal",
                NameKey("sku"),
                "tenant",
                condition=models.Q(deleted_at__isnull=True),
                name="product_sku_key_unique_per_principal_in_firm",
                violation_error_message="This principal already has a product with this SKU.",
            ),
        ]
        triggers = [
            *tenant_row_triggers("principal_id"),
            references_trigger(
                Ref("principal_id", "organization", ("principal",), "a principal"),
                extra=immutable("principal_id"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"


class ProductDistributor(TenantModel):
    """A distributor's own item code for a product."""

    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="distributor_items", db_constraint=False
    )
    # Indexed by product_distributor_distrib (Meta.indexes).
    distributor = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.PROTECT,
        related_name="product_items",
        db_index=False,
        db_constraint=False,
    )
    vendor_item_number = models.CharField(max_length=64, blank=True)
    # Kept by the database: the product's principal.
    scope_principal_id = models.BigIntegerField(null=True, editable=False)

    class Meta:
        db_table = "product_distributor"
        ordering = ["id"]
        indexes = [
            models.Index(fields=["tenant", "scope_principal_id"], name="product_distributor_scope"),
            models.Index(fields=["distributor"], name="product_distributor_distrib"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "distributor", "tenant"],
                condition=models.Q(deleted_at__isnull=True),
                name="product_distributor_unique_in_firm",
                violation_error_message="This distributor already has an item code for this product.",
            ),
        ]
        triggers = [
            *tenant_row_triggers("scope_principal_id"),
            references_trigger(
                Ref("product_id", "product", copy=(("scope_principal_id", "principal_id"),)),
                Ref("distributor_id", "organization", ("distributor",), "a distributor"),
            ),
        ]

    def __str__(self) -> str:
        item = f"Item {self.vendor_item_number}" if self.vendor_item_number else name_of(self, "product")
        return f"{item} at {name_of(self, 'distributor')}"
