"""Validate 0010's CHECKs (a scan that does not block writes)."""

from django.db import migrations

from crm.migration_operations import validate_constraint


class Migration(migrations.Migration):
    dependencies = [
        ("products", "0011_name_key_indexes"),
    ]

    operations = [
        validate_constraint("product", "product_name_normalized"),
        validate_constraint("product", "product_sku_normalized"),
        validate_constraint("product", "product_description_max_length"),
    ]
