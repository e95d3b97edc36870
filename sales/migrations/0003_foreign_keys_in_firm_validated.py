"""The keys of 0002 validated (a scan that blocks no writes)."""

from django.db import migrations

from crm.migration_operations import validate_constraint

KEYS = (
    ("sales_fact", ("distributor", "product", "customer", "principal")),
    ("sales_unmatched", ("distributor", "product", "customer", "principal")),
    ("sales_customer_alias", ("distributor", "customer")),
    ("sales_column_mapping", ("distributor",)),
)


class Migration(migrations.Migration):
    dependencies = [("sales", "0002_foreign_keys_hold_the_tenant")]

    operations = [
        validate_constraint(table, f"{table}_{field}_in_firm") for table, fields in KEYS for field in fields
    ]
