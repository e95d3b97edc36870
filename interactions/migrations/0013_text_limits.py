"""Interaction notes at most 10,000 characters: a CHECK added NOT VALID (new writes only), validated by 0014."""

import django.db.models.functions.text
import django.db.models.lookups
from django.db import migrations, models

from crm.migration_operations import add_check_not_valid


class Migration(migrations.Migration):
    dependencies = [
        ("interactions", "0012_tenant_user_statistics"),
    ]

    operations = [
        add_check_not_valid(
            "interaction",
            models.CheckConstraint(
                condition=django.db.models.lookups.LessThanOrEqual(
                    django.db.models.functions.text.Length("notes"), 10000
                ),
                name="interaction_notes_max_length",
                violation_error_message="Ensure notes has no more than 10000 characters.",
            ),
            table="interaction",
            check="char_length(notes) <= 10000",
        ),
        migrations.AlterField(
            model_name="interaction",
            name="notes",
            field=models.TextField(blank=True, max_length=10000),
        ),
    ]
