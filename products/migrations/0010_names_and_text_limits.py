"""Product names and SKUs stored NFC without control or invisible characters; descriptions at most 10,000.

Rows the new rules would refuse (a control or invisible character, two live products of one principal
whose SKUs share a crm_name_key) stop the migration with a report naming them; then existing values are
NFC-normalised. The CHECKs are added NOT VALID and validated by 0012; 0011 replaces the unique index.
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
        ("products", "0009_foreign_key_indexes_deduplicated"),
        ("crm", "0009_name_key"),
    ]

    operations = [
        RefuseNameConflicts("product", "sku", scope=("principal_id",), condition="deleted_at IS NULL"),
        RefuseNameConflicts("product", "name"),
        # After the report: an NFC update cannot then collide on the old lower() indexes.
        migrations.RunSQL(
            "UPDATE product SET name = normalize(name, NFC), sku = normalize(sku, NFC)"
            " WHERE name IS NOT NFC NORMALIZED OR sku IS NOT NFC NORMALIZED",
            migrations.RunSQL.noop,
        ),
        add_check_not_valid(
            "product",
            models.CheckConstraint(
                condition=models.Q(("name", crm.text.NFC(models.F("name"))))
                & ~models.Q(("name__regex", FORBIDDEN)),
                name="product_name_normalized",
                violation_error_message=(
                    "name must be NFC-normalised and must not contain control or invisible formatting characters."
                ),
            ),
            table="product",
            check=f"name = normalize(name, NFC) AND NOT (name ~ '{FORBIDDEN}')",
        ),
        add_check_not_valid(
            "product",
            models.CheckConstraint(
                condition=models.Q(("sku", crm.text.NFC(models.F("sku"))))
                & ~models.Q(("sku__regex", FORBIDDEN)),
                name="product_sku_normalized",
                violation_error_message=(
                    "sku must be NFC-normalised and must not contain control or invisible formatting characters."
                ),
            ),
            table="product",
            check=f"sku = normalize(sku, NFC) AND NOT (sku ~ '{FORBIDDEN}')",
        ),
        add_check_not_valid(
            "product",
            models.CheckConstraint(
                condition=django.db.models.lookups.LessThanOrEqual(
                    django.db.models.functions.text.Length("description"), 10000
                ),
                name="product_description_max_length",
                violation_error_message="Ensure description has no more than 10000 characters.",
            ),
            table="product",
            check="char_length(description) <= 10000",
        ),
        migrations.AlterField(
            model_name="product",
            name="description",
            field=models.TextField(blank=True, max_length=10000),
        ),
    ]
