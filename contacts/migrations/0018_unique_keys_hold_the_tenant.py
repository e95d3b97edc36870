"""Contact emails unique per organization and firm: tenant_id last in each unique key, rebuilt CONCURRENTLY under a new name (`…_in_firm`).

Why, and why no answer changes: crm.migrations.0018_unique_keys_hold_the_tenant.
"""

from django.db import migrations, models

import crm.text
from crm.migration_operations import replace_unique_index


class Migration(migrations.Migration):
    # CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("contacts", "0017_names_refuse_invisible_characters"),
    ]

    operations = [
        replace_unique_index(
            "contact",
            "contact_email_key_unique_per_organization",
            models.UniqueConstraint(
                models.F("organization"),
                crm.text.NameKey("email"),
                models.F("tenant"),
                condition=models.Q(("deleted_at__isnull", True), models.Q(("email", ""), _negated=True)),
                name="contact_email_key_unique_per_organization_in_firm",
                violation_error_message="A contact with this email already exists at this organization.",
            ),
            table="contact",
            new="(organization_id, (crm_name_key(email)), tenant_id) WHERE (deleted_at IS NULL AND NOT (email = ''))",
            old="(organization_id, (crm_name_key(email))) WHERE (deleted_at IS NULL AND NOT (email = ''))",
        ),
    ]
