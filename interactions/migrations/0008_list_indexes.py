"""A principal's live interactions, newest first, with the key (tenant, principal, -occurred_at, -id).

Replaces interaction_principal_time (the same without the key, over deleted rows too): built first,
then the old one dropped, both concurrently.
"""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("interactions", "0007_references_recheck_only_when_changed"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="interaction",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=["tenant", "principal", "-occurred_at", "-id"],
                name="interaction_live_principal",
            ),
        ),
        RemoveIndexConcurrently(model_name="interaction", name="interaction_principal_time"),
    ]
