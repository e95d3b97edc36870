"""The unique index interaction_id_in_firm on (id, tenant_id), built concurrently: what a sample's and its
lines' composite foreign keys (interactions 0019) reference, so they never point into another firm."""

from django.db import migrations

from crm.migration_operations import firm_key


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [("interactions", "0018_merge_moves_an_interaction_with_its_deleted_contact")]

    operations = [firm_key("interaction")]
