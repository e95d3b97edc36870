"""Foreign keys holding the tenant, added NOT VALID: why, in organizations.0018_foreign_keys_hold_the_tenant."""

from django.db import migrations

from crm.migration_operations import add_foreign_key_in_firm, firm_key


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("contacts", "0018_unique_keys_hold_the_tenant"),
        ("organizations", "0018_foreign_keys_hold_the_tenant"),
    ]

    operations = [
        firm_key("contact"),
        add_foreign_key_in_firm("contact", "organization", "organization"),
        add_foreign_key_in_firm("contact", "reports_to", "contact"),
    ]
