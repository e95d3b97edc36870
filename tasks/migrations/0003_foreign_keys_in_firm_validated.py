"""Foreign keys holding the tenant, validated (a scan that blocks no writes)."""

from django.db import migrations

from crm.migration_operations import validate_constraint


class Migration(migrations.Migration):
    dependencies = [("tasks", "0002_foreign_keys_hold_the_tenant")]

    operations = [
        validate_constraint("task", "task_organization_in_firm"),
        validate_constraint("task", "task_contact_in_firm"),
        validate_constraint("task", "task_opportunity_in_firm"),
        validate_constraint("task", "task_principal_in_firm"),
    ]
