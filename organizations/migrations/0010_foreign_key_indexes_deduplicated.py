"""Drop the foreign keys' automatic indexes that duplicate a Meta index, and index principal_assignment's tenant.

distributor_authorization.distributor_id, customer_distributor.distributor_id and
principal_assignment.principal_id each had two identical indexes; the named ones stay. principal_assignment
had no index leading with tenant_id (TenantModel leaves the key unindexed), so a tenant delete or key change
scanned it: principal_assignment_tenant (tenant_id, user_id) also serves the policies' comparison.
"""

import django.db.models.deletion
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

from crm.migration_operations import drop_foreign_key_index


class Migration(migrations.Migration):
    # DROP/CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("organizations", "0009_search_function"),
    ]

    operations = [
        drop_foreign_key_index(
            "customerdistributor",
            "distributor",
            models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="customers",
                to="organizations.organization",
            ),
            table="customer_distributor",
            column="distributor_id",
            index="customer_distributor_distributor_id_fbd8ca9e",
        ),
        drop_foreign_key_index(
            "distributorauthorization",
            "distributor",
            models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="authorized_principals",
                to="organizations.organization",
            ),
            table="distributor_authorization",
            column="distributor_id",
            index="distributor_authorization_distributor_id_c2b43369",
        ),
        drop_foreign_key_index(
            "principalassignment",
            "principal",
            models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="assignments",
                to="organizations.organization",
            ),
            table="principal_assignment",
            column="principal_id",
            index="principal_assignment_principal_id_5f12c215",
        ),
        AddIndexConcurrently(
            model_name="principalassignment",
            index=models.Index(fields=["tenant", "user"], name="principal_assignment_tenant"),
        ),
    ]
