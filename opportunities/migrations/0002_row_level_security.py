"""Row level security on the opportunities app's tables (policies from crm.rls.TablePolicy)."""

from django.db import migrations

from crm.migration_operations import ApplyRowLevelSecurity
from crm.rls import TablePolicy


class Migration(migrations.Migration):
    dependencies = [("opportunities", "0001_initial"), ("crm", "0002_row_level_security")]

    operations = [
        ApplyRowLevelSecurity.for_policy(TablePolicy("opportunity", "principal_id")),
        ApplyRowLevelSecurity.for_policy(TablePolicy("opportunity_product", "scope_principal_id")),
        ApplyRowLevelSecurity.for_policy(TablePolicy("opportunity_contact", "scope_principal_id")),
    ]
