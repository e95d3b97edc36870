"""Validate 0012's CHECKs (a scan that does not block writes)."""

from django.db import migrations

from crm.migration_operations import validate_constraint


class Migration(migrations.Migration):
    dependencies = [
        ("opportunities", "0012_text_limits"),
    ]

    operations = [
        validate_constraint("opportunity", "opportunity_win_reason_max_length"),
        validate_constraint("opportunity", "opportunity_loss_reason_max_length"),
        validate_constraint("opportunity", "opportunity_notes_max_length"),
        validate_constraint("opportunity_product", "opportunity_product_notes_max_length"),
    ]
