"""Fill the match keys of the contacts written before the match_keys trigger (0024), 5,000 rows a
transaction, with the trigger's expressions and the table's triggers skipped (the keys are derived, not a
change: versions, updated_at and history stay as they were). crm.migration_operations.fill_in_batches."""

from django.db import migrations

from crm.migration_operations import fill_in_batches


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("contacts", "0024_contact_match_keys")]

    operations = [
        fill_in_batches(
            "contact",
            "match_name = crm_name_key(t.first_name || ' ' || t.last_name),"
            " match_email = nullif(crm_name_key(t.email), ''),"
            " match_phone = crm_phone_key(coalesce(nullif(t.phone, ''), t.mobile))",
            missing="match_name IS NULL",
        )
    ]
