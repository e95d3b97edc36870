"""Hard DELETE (a purge) is for admins only: rows are soft-deleted through UPDATE."""

from django.db import migrations

from crm.migration_operations import ApplyRowLevelSecurity
from crm.rls import TablePolicy


class Migration(migrations.Migration):
    dependencies = [
        ("products", "0004_history_version_soft_delete"),
        ("crm", "0005_history_writer_only_from_triggers"),
    ]

    operations = [
        ApplyRowLevelSecurity.purge_for_admins_only(TablePolicy("product", "principal_id")),
        ApplyRowLevelSecurity.purge_for_admins_only(TablePolicy("product_distributor", "scope_principal_id")),
    ]
