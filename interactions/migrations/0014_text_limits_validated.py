"""Validate 0013's CHECK (a scan that does not block writes)."""

from django.db import migrations

from crm.migration_operations import validate_constraint


class Migration(migrations.Migration):
    dependencies = [
        ("interactions", "0013_text_limits"),
    ]

    operations = [
        validate_constraint("interaction", "interaction_notes_max_length"),
    ]
