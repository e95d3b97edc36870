"""Books (principal assignments) unique per firm: tenant_id in the unique key (issue 15, docs/scaling.md).

A firm's rows are distributed by tenant_id when the service is sharded (Citus, or firms placed on several
clusters), and a unique index can only be enforced on a shard when it holds the distribution column. The
rows a key already names belong to one firm (the reference triggers keep a row's references in its own
firm), so adding tenant_id last changes no answer: the same rows are duplicates, and the index still leads
with the column a lookup or a foreign key check searches by. Each index is rebuilt CONCURRENTLY beside the
old one, which is then dropped CONCURRENTLY (crm.migration_operations.replace_unique_index): uniqueness
holds throughout. The new index is named for what it now says: `…_in_firm`.
"""

from django.db import migrations, models

from crm.migration_operations import replace_unique_index


class Migration(migrations.Migration):
    # CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("crm", "0017_runtime_role_without_temporary_tables"),
    ]

    operations = [
        replace_unique_index(
            "principalassignment",
            "principal_assignment_unique",
            models.UniqueConstraint(
                fields=["user", "principal", "tenant"],
                condition=models.Q(("deleted_at__isnull", True)),
                name="principal_assignment_unique_in_firm",
                violation_error_message="This principal is already in this user's book.",
            ),
            table="principal_assignment",
            new="(user_id, principal_id, tenant_id) WHERE (deleted_at IS NULL)",
            old="(user_id, principal_id) WHERE (deleted_at IS NULL)",
        ),
    ]
