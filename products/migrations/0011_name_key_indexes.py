"""SKUs unique per principal by crm_name_key instead of lower(): same condition and message.

product_sku_key_unique_per_principal is built CONCURRENTLY beside the lower() index it replaces, which
is then dropped CONCURRENTLY (crm.migration_operations.replace_unique_index). The clash report runs
again first, for rows written since 0010.
"""

from django.db import migrations, models

import crm.text
from crm.migration_operations import RefuseNameConflicts, replace_unique_index


class Migration(migrations.Migration):
    # CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("products", "0010_names_and_text_limits"),
    ]

    operations = [
        RefuseNameConflicts("product", "sku", scope=("principal_id",), condition="deleted_at IS NULL"),
        RefuseNameConflicts("product", "name"),
        replace_unique_index(
            "product",
            "product_sku_unique_per_principal",
            models.UniqueConstraint(
                models.F("principal"),
                crm.text.NameKey("sku"),
                condition=models.Q(("deleted_at__isnull", True)),
                name="product_sku_key_unique_per_principal",
                violation_error_message="This principal already has a product with this SKU.",
            ),
            table="product",
            new="(principal_id, (crm_name_key(sku))) WHERE (deleted_at IS NULL)",
            old="(principal_id, (lower(sku))) WHERE (deleted_at IS NULL)",
        ),
    ]
