"""Contact names and emails stored NFC without control or invisible characters; notes at most 10,000.

Rows the new rules would refuse (a control or invisible character, two live contacts of one
organization whose emails share a crm_name_key) stop the migration with a report naming them; then
existing values are NFC-normalised. The CHECKs are added NOT VALID and validated by 0015; 0014 replaces
the unique index.
"""

import django.db.models.functions.text
import django.db.models.lookups
from django.db import migrations, models

import crm.text
from crm.migration_operations import RefuseNameConflicts, add_check_not_valid

# Unicode Cc/Cf without NUL (crm.text.FORBIDDEN_RANGES), as PostgreSQL regex escapes.
FORBIDDEN = r"[\u0001-\u001f\u007f-\u009f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0012_keyed_search_function"),
        ("crm", "0009_name_key"),
    ]

    operations = [
        RefuseNameConflicts(
            "contact",
            "email",
            scope=("organization_id",),
            condition="deleted_at IS NULL AND NOT (email = '')",
        ),
        RefuseNameConflicts("contact", "first_name"),
        RefuseNameConflicts("contact", "last_name"),
        # After the report: an NFC update cannot then collide on the old lower() indexes.
        migrations.RunSQL(
            "UPDATE contact SET first_name = normalize(first_name, NFC), last_name = normalize(last_name, NFC),"
            " email = normalize(email, NFC) WHERE first_name IS NOT NFC NORMALIZED"
            " OR last_name IS NOT NFC NORMALIZED OR email IS NOT NFC NORMALIZED",
            migrations.RunSQL.noop,
        ),
        add_check_not_valid(
            "contact",
            models.CheckConstraint(
                condition=models.Q(("first_name", crm.text.NFC(models.F("first_name"))))
                & ~models.Q(("first_name__regex", FORBIDDEN)),
                name="contact_first_name_normalized",
                violation_error_message=(
                    "first_name must be NFC-normalised and must not contain control or invisible formatting characters."
                ),
            ),
            table="contact",
            check=f"first_name = normalize(first_name, NFC) AND NOT (first_name ~ '{FORBIDDEN}')",
        ),
        add_check_not_valid(
            "contact",
            models.CheckConstraint(
                condition=models.Q(("last_name", crm.text.NFC(models.F("last_name"))))
                & ~models.Q(("last_name__regex", FORBIDDEN)),
                name="contact_last_name_normalized",
                violation_error_message=(
                    "last_name must be NFC-normalised and must not contain control or invisible formatting characters."
                ),
            ),
            table="contact",
            check=f"last_name = normalize(last_name, NFC) AND NOT (last_name ~ '{FORBIDDEN}')",
        ),
        add_check_not_valid(
            "contact",
            models.CheckConstraint(
                condition=models.Q(("email", crm.text.NFC(models.F("email"))))
                & ~models.Q(("email__regex", FORBIDDEN)),
                name="contact_email_normalized",
                violation_error_message=(
                    "email must be NFC-normalised and must not contain control or invisible formatting characters."
                ),
            ),
            table="contact",
            check=f"email = normalize(email, NFC) AND NOT (email ~ '{FORBIDDEN}')",
        ),
        add_check_not_valid(
            "contact",
            models.CheckConstraint(
                condition=django.db.models.lookups.LessThanOrEqual(
                    django.db.models.functions.text.Length("notes"), 10000
                ),
                name="contact_notes_max_length",
                violation_error_message="Ensure notes has no more than 10000 characters.",
            ),
            table="contact",
            check="char_length(notes) <= 10000",
        ),
        migrations.AlterField(
            model_name="contact",
            name="notes",
            field=models.TextField(blank=True, max_length=10000),
        ),
    ]
