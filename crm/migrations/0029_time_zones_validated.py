"""The time zone checks of crm 0028, validated (a scan that blocks no writes)."""

from django.db import migrations

from crm.migration_operations import validate_constraint


class Migration(migrations.Migration):
    dependencies = [("crm", "0028_time_zones")]

    operations = [
        validate_constraint("tenant", "tenant_time_zone_valid"),
        validate_constraint("membership", "membership_time_zone_valid"),
    ]
