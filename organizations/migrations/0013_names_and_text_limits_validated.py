"""Validate 0011's CHECKs (a scan that does not block writes)."""

from django.db import migrations

from crm.migration_operations import validate_constraint


class Migration(migrations.Migration):
    dependencies = [
        ("organizations", "0012_name_key_indexes"),
    ]

    operations = [
        validate_constraint("organization", "organization_name_normalized"),
        validate_constraint("organization", "organization_email_normalized"),
        validate_constraint("organization", "organization_notes_max_length"),
        validate_constraint("distributor_authorization", "distributor_authorization_notes_max_length"),
    ]
