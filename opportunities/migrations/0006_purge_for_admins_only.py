"""Hard DELETE (a purge) is for admins only: rows are soft-deleted through UPDATE."""

from django.db import migrations

from crm.migration_operations import ApplyRowLevelSecurity
from crm.rls import TablePolicy


class Migration(migrations.Migration):
    dependencies = [
        ("opportunities", "0005_history_version_soft_delete"),
        ("crm", "0005_history_writer_only_from_triggers"),
    ]

    operations = [
        ApplyRowLevelSecurity.purge_for_admins_only(TablePolicy("opportunity", "principal_id")),
        ApplyRowLevelSecurity.purge_for_admins_only(TablePolicy("opportunity_product", "scope_principal_id")),
        ApplyRowLevelSecurity.purge_for_admins_only(TablePolicy("opportunity_contact", "scope_principal_id")),
    ]
