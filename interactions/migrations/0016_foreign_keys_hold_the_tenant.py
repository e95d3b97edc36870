"""Foreign keys holding the tenant, added NOT VALID: why, in organizations.0018_foreign_keys_hold_the_tenant."""

from django.db import migrations

from crm.migration_operations import add_foreign_key_in_firm


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("interactions", "0015_policies_require_verified_context"),
        ("organizations", "0018_foreign_keys_hold_the_tenant"),
        ("contacts", "0019_foreign_keys_hold_the_tenant"),
        ("opportunities", "0016_foreign_keys_hold_the_tenant"),
    ]

    operations = [
        add_foreign_key_in_firm("interaction", "organization", "organization"),
        add_foreign_key_in_firm("interaction", "contact", "contact"),
        add_foreign_key_in_firm("interaction", "opportunity", "opportunity"),
        add_foreign_key_in_firm("interaction", "principal", "organization"),
    ]
