"""Row level security on organizations, their relationships, and books."""

from django.db import migrations

from crm.migration_operations import ApplyRowLevelSecurity
from crm.rls import ROLE, TENANT, USER, TablePolicy

ADMIN_OF_TENANT = f"tenant_id = {TENANT} AND {ROLE} = 'admin'"


class Migration(migrations.Migration):
    dependencies = [("organizations", "0001_initial"), ("crm", "0002_row_level_security")]

    operations = [
        ApplyRowLevelSecurity.for_policy(
            TablePolicy("organization", "scope_principal_id", viewers_see_shared=True)
        ),
        ApplyRowLevelSecurity.for_policy(TablePolicy("distributor_authorization", "principal_id")),
        ApplyRowLevelSecurity.for_policy(TablePolicy("customer_distributor", None, viewers_see_shared=True)),
        # Books: admins manage them; everyone else reads their own.
        ApplyRowLevelSecurity(
            "principal_assignment",
            f"tenant_id = {TENANT} AND ({ROLE} = 'admin' OR user_id = {USER})",
            ADMIN_OF_TENANT,
            ADMIN_OF_TENANT,
            ADMIN_OF_TENANT,
        ),
    ]
