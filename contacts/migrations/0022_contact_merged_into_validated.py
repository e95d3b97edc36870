"""A merged row's rules validated (a scan that blocks no writes; the column is new, so every row passes):
the key to the survivor in the firm, never itself, deleted. Why: ADR 0029."""

from django.db import migrations

from crm.migration_operations import validate_constraint


class Migration(migrations.Migration):
    dependencies = [("contacts", "0021_contact_merged_into")]

    operations = [
        validate_constraint("contact", "contact_merged_into_in_firm"),
        validate_constraint("contact", "contact_merged_into_not_self"),
        validate_constraint("contact", "contact_merged_is_deleted"),
    ]
