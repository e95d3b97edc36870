"""The facts of a whole firm newest period first, a page at a time (`GET sales/facts/` as an admin, with no
filter, and its cursor pages): without an index leading with (tenant, period_start) the first page sorted
every fact of the firm (~0.9 s at 5.3 million facts). Built concurrently, alone in its migration."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("sales", "0005_admin_names")]

    operations = [
        AddIndexConcurrently(
            model_name="salesfact",
            index=models.Index(fields=["tenant", "period_start", "id"], name="sales_fact_tenant_period"),
        ),
    ]
