"""Row level security on the contacts app's tables (policies from crm.rls.TablePolicy)."""

from django.db import migrations

from crm.migration_operations import ApplyRowLevelSecurity
from crm.rls import TablePolicy


class Migration(migrations.Migration):
    dependencies = [("contacts", "0002_initial"), ("crm", "0002_row_level_security")]

    operations = [
        ApplyRowLevelSecurity.for_policy(
            TablePolicy("contact", "scope_principal_id", viewers_see_shared=False)
        ),
    ]
