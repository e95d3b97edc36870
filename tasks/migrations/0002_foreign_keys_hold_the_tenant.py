"""Foreign keys holding the tenant, added NOT VALID: why, in organizations.0018_foreign_keys_hold_the_tenant."""

from django.db import migrations

from crm.migration_operations import add_foreign_key_in_firm


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tasks", "0001_initial"),
        ("organizations", "0019_foreign_keys_in_firm_validated"),
        ("contacts", "0020_foreign_keys_in_firm_validated"),
        ("opportunities", "0017_foreign_keys_in_firm_validated"),
    ]

    operations = [
        add_foreign_key_in_firm("task", "organization", "organization"),
        add_foreign_key_in_firm("task", "contact", "contact"),
        add_foreign_key_in_firm("task", "opportunity", "opportunity"),
        add_foreign_key_in_firm("task", "principal", "organization"),
    ]
