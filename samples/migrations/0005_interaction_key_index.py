"""Full indexes leading with each foreign key of sample and sample_line (dbhealth's
foreign_keys_without_index): the unique indexes on (interaction, tenant) are partial (live rows only) and
the tenant key had only partial indexes, so a check of a deleted interaction's or firm's key scanned the
table. Built concurrently, alone in their migration."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("samples", "0004_policies")]

    operations = [
        AddIndexConcurrently(
            model_name="sample",
            index=models.Index(fields=["interaction", "tenant"], name="sample_interaction_tenant"),
        ),
        AddIndexConcurrently(
            model_name="sample", index=models.Index(fields=["tenant", "-id"], name="sample_tenant_newest")
        ),
        AddIndexConcurrently(
            model_name="sampleline",
            index=models.Index(fields=["interaction"], name="sample_line_interaction"),
        ),
        AddIndexConcurrently(
            model_name="sampleline", index=models.Index(fields=["tenant", "id"], name="sample_line_tenant")
        ),
    ]
