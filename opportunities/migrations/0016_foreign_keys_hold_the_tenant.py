"""Foreign keys holding the tenant, added NOT VALID: why, in organizations.0018_foreign_keys_hold_the_tenant."""

from django.db import migrations

from crm.migration_operations import add_foreign_key_in_firm, firm_key


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("opportunities", "0015_unique_keys_hold_the_tenant"),
        ("organizations", "0018_foreign_keys_hold_the_tenant"),
        ("products", "0016_foreign_keys_hold_the_tenant"),
        ("contacts", "0019_foreign_keys_hold_the_tenant"),
    ]

    operations = [
        firm_key("opportunity"),
        add_foreign_key_in_firm("opportunity", "principal", "organization"),
        add_foreign_key_in_firm("opportunity", "customer", "organization"),
        add_foreign_key_in_firm("opportunity", "distributor", "organization"),
        add_foreign_key_in_firm("opportunity_product", "opportunity", "opportunity"),
        add_foreign_key_in_firm("opportunity_product", "product", "product"),
        add_foreign_key_in_firm("opportunity_contact", "opportunity", "opportunity"),
        add_foreign_key_in_firm("opportunity_contact", "contact", "contact"),
    ]
