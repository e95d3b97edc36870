"""Drop membership's tenant_id index: membership_tenant_role (tenant_id, role) leads with the same column."""

import django.db.models.deletion
from django.db import migrations, models

from crm.migration_operations import drop_foreign_key_index


class Migration(migrations.Migration):
    # DROP/CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("crm", "0007_definer_functions_search_pg_temp_last"),
    ]

    operations = [
        drop_foreign_key_index(
            "membership",
            "tenant",
            models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="memberships",
                to="crm.tenant",
            ),
            table="membership",
            column="tenant_id",
            index="membership_tenant_id_5206de02",
        ),
    ]
