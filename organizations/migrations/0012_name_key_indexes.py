"""Organization names unique by crm_name_key (NFKC, case, spaces) instead of lower(): same conditions, messages.

organization_principal_name_key_unique and organization_name_key_unique are built CONCURRENTLY beside
the lower() indexes they replace, which are then dropped CONCURRENTLY
(crm.migration_operations.replace_unique_index); the clash report runs again first, for rows written
since 0011.
"""

from django.db import migrations, models

import crm.text
from crm.migration_operations import RefuseNameConflicts, replace_unique_index


class Migration(migrations.Migration):
    # CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("organizations", "0011_names_and_text_limits"),
    ]

    operations = [
        RefuseNameConflicts(
            "organization",
            "name",
            scope=("tenant_id",),
            condition="deleted_at IS NULL AND type = 'principal'",
        ),
        RefuseNameConflicts(
            "organization",
            "name",
            scope=("tenant_id",),
            condition="deleted_at IS NULL AND type <> 'principal'",
        ),
        RefuseNameConflicts("organization", "email"),
        replace_unique_index(
            "organization",
            "organization_principal_name_unique",
            models.UniqueConstraint(
                models.F("tenant"),
                crm.text.NameKey("name"),
                condition=models.Q(("deleted_at__isnull", True), ("type", "principal")),
                name="organization_principal_name_key_unique",
                violation_error_message="A principal with this name already exists.",
            ),
            table="organization",
            new="(tenant_id, (crm_name_key(name))) WHERE (deleted_at IS NULL AND type = 'principal')",
            old="(tenant_id, (lower(name))) WHERE (deleted_at IS NULL AND type = 'principal')",
        ),
        replace_unique_index(
            "organization",
            "organization_name_unique",
            models.UniqueConstraint(
                models.F("tenant"),
                crm.text.NameKey("name"),
                condition=models.Q(
                    ("deleted_at__isnull", True), models.Q(("type", "principal"), _negated=True)
                ),
                name="organization_name_key_unique",
                violation_error_message="An organization with this name already exists.",
            ),
            table="organization",
            new="(tenant_id, (crm_name_key(name))) WHERE (deleted_at IS NULL AND NOT (type = 'principal'))",
            old="(tenant_id, (lower(name))) WHERE (deleted_at IS NULL AND NOT (type = 'principal'))",
        ),
    ]
