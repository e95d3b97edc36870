"""The merged rows by survivor, indexed CONCURRENTLY (a partial index: merged rows are few): what the
composite key looks up when a survivor is purged. Why: ADR 0029."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [("contacts", "0022_contact_merged_into_validated")]

    operations = [
        AddIndexConcurrently(
            model_name="contact",
            index=models.Index(
                condition=models.Q(("merged_into__isnull", False)),
                fields=["merged_into"],
                name="contact_merged_into",
            ),
        ),
    ]
