"""Foreign keys holding the tenant, added NOT VALID: why, in organizations.0018_foreign_keys_hold_the_tenant."""

from django.db import migrations

from crm.migration_operations import add_foreign_key_in_firm


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("crm", "0018_unique_keys_hold_the_tenant"),
        ("organizations", "0018_foreign_keys_hold_the_tenant"),
    ]

    operations = [
        add_foreign_key_in_firm("principal_assignment", "principal", "organization"),
    ]
