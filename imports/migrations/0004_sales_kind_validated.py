"""The widened kind CHECK of 0003 validated (a scan that blocks no writes)."""

from django.db import migrations

from crm.migration_operations import validate_constraint


class Migration(migrations.Migration):
    dependencies = [("imports", "0003_sales_kind_and_options")]

    operations = [validate_constraint("import_run", "import_run_kind_known")]
