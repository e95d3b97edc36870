"""Free text of opportunities at most so long: notes 10,000 characters, win and loss reasons 2,000.

CHECKs added NOT VALID (new writes only), validated by 0013.
"""

import django.db.models.functions.text
import django.db.models.lookups
from django.db import migrations, models

from crm.migration_operations import add_check_not_valid


class Migration(migrations.Migration):
    dependencies = [
        ("opportunities", "0011_foreign_key_indexes_deduplicated"),
    ]

    operations = [
        add_check_not_valid(
            "opportunity",
            models.CheckConstraint(
                condition=django.db.models.lookups.LessThanOrEqual(
                    django.db.models.functions.text.Length("win_reason"), 2000
                ),
                name="opportunity_win_reason_max_length",
                violation_error_message="Ensure win_reason has no more than 2000 characters.",
            ),
            table="opportunity",
            check="char_length(win_reason) <= 2000",
        ),
        add_check_not_valid(
            "opportunity",
            models.CheckConstraint(
                condition=django.db.models.lookups.LessThanOrEqual(
                    django.db.models.functions.text.Length("loss_reason"), 2000
                ),
                name="opportunity_loss_reason_max_length",
                violation_error_message="Ensure loss_reason has no more than 2000 characters.",
            ),
            table="opportunity",
            check="char_length(loss_reason) <= 2000",
        ),
        add_check_not_valid(
            "opportunity",
            models.CheckConstraint(
                condition=django.db.models.lookups.LessThanOrEqual(
                    django.db.models.functions.text.Length("notes"), 10000
                ),
                name="opportunity_notes_max_length",
                violation_error_message="Ensure notes has no more than 10000 characters.",
            ),
            table="opportunity",
            check="char_length(notes) <= 10000",
        ),
        add_check_not_valid(
            "opportunityproduct",
            models.CheckConstraint(
                condition=django.db.models.lookups.LessThanOrEqual(
                    django.db.models.functions.text.Length("notes"), 10000
                ),
                name="opportunity_product_notes_max_length",
                violation_error_message="Ensure notes has no more than 10000 characters.",
            ),
            table="opportunity_product",
            check="char_length(notes) <= 10000",
        ),
        migrations.AlterField(
            model_name="opportunity",
            name="loss_reason",
            field=models.TextField(blank=True, max_length=2000),
        ),
        migrations.AlterField(
            model_name="opportunity",
            name="notes",
            field=models.TextField(blank=True, max_length=10000),
        ),
        migrations.AlterField(
            model_name="opportunity",
            name="win_reason",
            field=models.TextField(blank=True, max_length=2000),
        ),
        migrations.AlterField(
            model_name="opportunityproduct",
            name="notes",
            field=models.TextField(blank=True, max_length=10000),
        ),
    ]
