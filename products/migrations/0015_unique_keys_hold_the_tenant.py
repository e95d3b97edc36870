"""SKUs and item codes unique per firm: tenant_id last in each unique key, rebuilt CONCURRENTLY under a new name (`…_in_firm`).

Why, and why no answer changes: crm.migrations.0018_unique_keys_hold_the_tenant.
"""

from django.db import migrations, models

import crm.text
from crm.migration_operations import replace_unique_index


class Migration(migrations.Migration):
    # CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("products", "0014_names_refuse_invisible_characters"),
    ]

    operations = [
        replace_unique_index(
            "product",
            "product_sku_key_unique_per_principal",
            models.UniqueConstraint(
                models.F("principal"),
                crm.text.NameKey("sku"),
                models.F("tenant"),
                condition=models.Q(("deleted_at__isnull", True)),
                name="product_sku_key_unique_per_principal_in_firm",
                violation_error_message="This principal already has a product with this SKU.",
            ),
            table="product",
            new="(principal_id, (crm_name_key(sku)), tenant_id) WHERE (deleted_at IS NULL)",
            old="(principal_id, (crm_name_key(sku))) WHERE (deleted_at IS NULL)",
        ),
        replace_unique_index(
            "productdistributor",
            "product_distributor_unique",
            models.UniqueConstraint(
                fields=["product", "distributor", "tenant"],
                condition=models.Q(("deleted_at__isnull", True)),
                name="product_distributor_unique_in_firm",
                violation_error_message="This distributor already has an item code for this product.",
            ),
            table="product_distributor",
            new="(product_id, distributor_id, tenant_id) WHERE (deleted_at IS NULL)",
            old="(product_id, distributor_id) WHERE (deleted_at IS NULL)",
        ),
    ]
