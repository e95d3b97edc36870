"""Row level security on the interactions app's tables (policies from crm.rls.TablePolicy)."""

from django.db import migrations

from crm.migration_operations import ApplyRowLevelSecurity
from crm.rls import TablePolicy


class Migration(migrations.Migration):
    dependencies = [("interactions", "0001_initial"), ("crm", "0002_row_level_security")]

    operations = [
        ApplyRowLevelSecurity.for_policy(
            TablePolicy("interaction", "principal_id", viewers_see_shared=False)
        ),
    ]
