"""Row level security on the products app's tables (policies from crm.rls.TablePolicy)."""

from django.db import migrations

from crm.migration_operations import ApplyRowLevelSecurity
from crm.rls import TablePolicy


class Migration(migrations.Migration):
    dependencies = [("products", "0001_initial"), ("crm", "0002_row_level_security")]

    operations = [
        ApplyRowLevelSecurity.for_policy(TablePolicy("product", "principal_id")),
        ApplyRowLevelSecurity.for_policy(TablePolicy("product_distributor", "scope_principal_id")),
    ]
