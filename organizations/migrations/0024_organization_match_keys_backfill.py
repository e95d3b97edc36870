"""Fill the match keys of the organizations written before the match_keys trigger (0023), 5,000 rows a
transaction, with the trigger's expressions and the table's triggers skipped (the keys are derived, not a
change: versions, updated_at and history stay as they were). crm.migration_operations.fill_in_batches."""

from django.db import migrations

from crm.migration_operations import fill_in_batches


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("organizations", "0023_organization_match_keys")]

    operations = [
        fill_in_batches(
            "organization",
            "match_words = crm_name_words(t.name), match_city = crm_name_key(t.city),"
            " match_phone = crm_phone_key(t.phone)",
            missing="match_words IS NULL",
        )
    ]
