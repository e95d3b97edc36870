"""Organization names and emails stored NFC without control or invisible characters; notes at most 10,000.

Rows the new rules would refuse (a control or invisible character, two live names with one
crm_name_key among the principals or among the shared accounts of a firm) stop the migration with a
report naming them (crm.migration_operations.RefuseNameConflicts); then existing values are
NFC-normalised. The CHECKs are added NOT VALID (new writes only) and validated by 0013; 0012 replaces
the unique indexes.
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
        ("organizations", "0010_foreign_key_indexes_deduplicated"),
        ("crm", "0009_name_key"),
    ]

    operations = [
        RefuseNameConflicts(
            "organization",
            "name",
            scope=("tenant_id",),
            condition="deleted_at IS NULL AND type = 'principal'",
        ),
        RefuseNameConflicts(
            "organization",
            "name",
            scope=("tenant_id",),
            condition="deleted_at IS NULL AND type <> 'principal'",
        ),
        RefuseNameConflicts("organization", "email"),
        # After the report: an NFC update cannot then collide on the old lower() indexes.
        migrations.RunSQL(
            "UPDATE organization SET name = normalize(name, NFC), email = normalize(email, NFC)"
            " WHERE name IS NOT NFC NORMALIZED OR email IS NOT NFC NORMALIZED",
            migrations.RunSQL.noop,
        ),
        add_check_not_valid(
            "organization",
            models.CheckConstraint(
                condition=models.Q(("name", crm.text.NFC(models.F("name"))))
                & ~models.Q(("name__regex", FORBIDDEN)),
                name="organization_name_normalized",
                violation_error_message=(
                    "name must be NFC-normalised and must not contain control or invisible formatting characters."
                ),
            ),
            table="organization",
            check=f"name = normalize(name, NFC) AND NOT (name ~ '{FORBIDDEN}')",
        ),
        add_check_not_valid(
            "organization",
            models.CheckConstraint(
                condition=models.Q(("email", crm.text.NFC(models.F("email"))))
                & ~models.Q(("email__regex", FORBIDDEN)),
                name="organization_email_normalized",
                violation_error_message=(
                    "email must be NFC-normalised and must not contain control or invisible formatting characters."
                ),
            ),
            table="organization",
            check=f"email = normalize(email, NFC) AND NOT (email ~ '{FORBIDDEN}')",
        ),
        add_check_not_valid(
            "organization",
            models.CheckConstraint(
                condition=django.db.models.lookups.LessThanOrEqual(
                    django.db.models.functions.text.Length("notes"), 10000
                ),
                name="organization_notes_max_length",
                violation_error_message="Ensure notes has no more than 10000 characters.",
            ),
            table="organization",
            check="char_length(notes) <= 10000",
        ),
        add_check_not_valid(
            "distributorauthorization",
            models.CheckConstraint(
                condition=django.db.models.lookups.LessThanOrEqual(
                    django.db.models.functions.text.Length("notes"), 10000
                ),
                name="distributor_authorization_notes_max_length",
                violation_error_message="Ensure notes has no more than 10000 characters.",
            ),
            table="distributor_authorization",
            check="char_length(notes) <= 10000",
        ),
        migrations.AlterField(
            model_name="organization",
            name="notes",
            field=models.TextField(blank=True, max_length=10000),
        ),
        migrations.AlterField(
            model_name="distributorauthorization",
            name="notes",
            field=models.TextField(blank=True, max_length=10000),
        ),
    ]
