"""Contact emails unique per organization and firm: tenant_id in the unique key (issue 15, docs/scaling.md).

A firm's rows are distributed by tenant_id when the service is sharded (Citus, or firms placed on several
clusters), and a unique index can only be enforced on a shard when it holds the distribution column. The
rows a key already names belong to one firm (the reference triggers keep a row's references in its own
firm), so adding tenant_id last changes no answer: the same rows are duplicates, and the index still leads
with the column a lookup or a foreign key check searches by. Each index is rebuilt CONCURRENTLY beside the
old one, which is then dropped CONCURRENTLY (crm.migration_operations.replace_unique_index): uniqueness
holds throughout. The new index is named for what it now says: `…_in_firm`.
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
