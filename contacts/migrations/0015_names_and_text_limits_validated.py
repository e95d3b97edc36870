"""Validate 0013's CHECKs (a scan that does not block writes)."""

from django.db import migrations

from crm.migration_operations import validate_constraint


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0014_name_key_indexes"),
    ]

    operations = [
        validate_constraint("contact", "contact_first_name_normalized"),
        validate_constraint("contact", "contact_last_name_normalized"),
        validate_constraint("contact", "contact_email_normalized"),
        validate_constraint("contact", "contact_notes_max_length"),
    ]
