"""Every reference of the sales tables as a composite key holding the tenant, `(x_id, tenant_id) REFERENCES
t (id, tenant_id)` (crm.models.TenantModel says why), added NOT VALID; 0003 validates them. They wait for
the `…_id_in_firm` keys of organization and product."""

from django.db import migrations

from crm.migration_operations import add_foreign_key_in_firm

REFERENCES = (
    ("sales_fact", "distributor", "organization"),
    ("sales_fact", "product", "product"),
    ("sales_fact", "customer", "organization"),
    ("sales_fact", "principal", "organization"),
    ("sales_unmatched", "distributor", "organization"),
    ("sales_unmatched", "product", "product"),
    ("sales_unmatched", "customer", "organization"),
    ("sales_unmatched", "principal", "organization"),
    ("sales_customer_alias", "distributor", "organization"),
    ("sales_customer_alias", "customer", "organization"),
    ("sales_column_mapping", "distributor", "organization"),
)


class Migration(migrations.Migration):
    dependencies = [
        ("sales", "0001_initial"),
        ("organizations", "0018_foreign_keys_hold_the_tenant"),
        ("products", "0016_foreign_keys_hold_the_tenant"),
    ]

    operations = [add_foreign_key_in_firm(table, field, target) for table, field, target in REFERENCES]
