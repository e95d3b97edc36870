"""Contact emails unique per organization by crm_name_key instead of lower(): same condition and message.

contact_email_key_unique_per_organization is built CONCURRENTLY beside the lower() index it replaces,
which is then dropped CONCURRENTLY (crm.migration_operations.replace_unique_index). The clash report
runs again first, for rows written since 0013.
"""

from django.db import migrations, models

import crm.text
from crm.migration_operations import RefuseNameConflicts, replace_unique_index


class Migration(migrations.Migration):
    # CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("contacts", "0013_names_and_text_limits"),
    ]

    operations = [
        RefuseNameConflicts(
            "contact",
            "email",
            scope=("organization_id",),
            condition="deleted_at IS NULL AND NOT (email = '')",
        ),
        RefuseNameConflicts("contact", "first_name"),
        RefuseNameConflicts("contact", "last_name"),
        replace_unique_index(
            "contact",
            "contact_email_unique_per_organization",
            models.UniqueConstraint(
                models.F("organization"),
                crm.text.NameKey("email"),
                condition=models.Q(("deleted_at__isnull", True), models.Q(("email", ""), _negated=True)),
                name="contact_email_key_unique_per_organization",
                violation_error_message="A contact with this email already exists at this organization.",
            ),
            table="contact",
            new="(organization_id, (crm_name_key(email))) WHERE (deleted_at IS NULL AND NOT (email = ''))",
            old="(organization_id, (lower(email))) WHERE (deleted_at IS NULL AND NOT (email = ''))",
        ),
    ]
