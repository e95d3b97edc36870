"""A principal's live opportunities, most recently updated first (tenant, principal, -updated_at, -id)."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("opportunities", "0008_references_recheck_only_when_changed"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="opportunity",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=["tenant", "principal", "-updated_at", "-id"],
                name="opportunity_live_principal",
            ),
        ),
    ]
