"""List indexes on live organizations (tenant, [type,] name, id), built without locking writes.

They replace organization_type_name (the same columns without the key, over deleted rows too) and
organization_lower_name (lower(name), id: nothing queries it; name uniqueness has its own indexes).
"""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("organizations", "0007_references_recheck_only_when_changed"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="organization",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=["tenant", "name", "id"],
                name="organization_live_name",
            ),
        ),
        AddIndexConcurrently(
            model_name="organization",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=["tenant", "type", "name", "id"],
                name="organization_live_type_name",
            ),
        ),
        RemoveIndexConcurrently(model_name="organization", name="organization_type_name"),
        RemoveIndexConcurrently(model_name="organization", name="organization_lower_name"),
    ]
