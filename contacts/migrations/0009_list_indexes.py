"""The contacts list's index: live contacts by (tenant, last_name, first_name, id), built concurrently."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("contacts", "0008_references_recheck_only_when_changed"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="contact",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=["tenant", "last_name", "first_name", "id"],
                name="contact_live_name",
            ),
        ),
    ]
