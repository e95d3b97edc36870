"""Hard DELETE (a purge) is for admins only: rows are soft-deleted through UPDATE."""

from django.db import migrations

from crm.migration_operations import ApplyRowLevelSecurity
from crm.rls import TablePolicy


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0005_history_version_soft_delete"),
        ("crm", "0005_history_writer_only_from_triggers"),
    ]

    operations = [
        ApplyRowLevelSecurity.purge_for_admins_only(
            TablePolicy("contact", "scope_principal_id", viewers_see_shared=False)
        ),
    ]
