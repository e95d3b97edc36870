"""Hard DELETE (a purge) is for admins only: rows are soft-deleted through UPDATE."""

from django.db import migrations

from crm.migration_operations import ApplyRowLevelSecurity
from crm.rls import TablePolicy


class Migration(migrations.Migration):
    dependencies = [
        ("organizations", "0004_history_version_soft_delete"),
        ("crm", "0005_history_writer_only_from_triggers"),
    ]

    operations = [
        ApplyRowLevelSecurity.purge_for_admins_only(
            TablePolicy("organization", "scope_principal_id", viewers_see_shared=True)
        ),
        ApplyRowLevelSecurity.purge_for_admins_only(TablePolicy("distributor_authorization", "principal_id")),
        ApplyRowLevelSecurity.purge_for_admins_only(
            TablePolicy("customer_distributor", None, viewers_see_shared=True)
        ),
    ]
