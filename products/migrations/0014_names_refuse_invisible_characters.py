"""Invisible characters refused in product.name, product.sku: a CHECK on each column (crm migration 0016).

Unicode's Default_Ignorable_Code_Point characters and U+2800 (crm_strip_invisible(), crm 0016) read as
nothing or as a space, yet the Cc/Cf CHECKs let them through. Rows already holding one stop the
migration with a report naming them (RefuseNameConflicts); nothing is stripped silently. Each CHECK is
added NOT VALID, then validated in its own transaction (a scan that does not block writes).
"""

from django.db import migrations, models

import crm.text
from crm.migration_operations import RefuseNameConflicts, add_check_not_valid, validate_constraint

# Unicode Default_Ignorable_Code_Point and U+2800 (crm.text.INVISIBLE_RANGES), as PostgreSQL regex escapes.
INVISIBLE = r"[\u00ad\u034f\u061c\u115f-\u1160\u17b4-\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"


def visible(table: str, model_name: str, column: str) -> migrations.SeparateDatabaseAndState:
    return add_check_not_valid(
        model_name,
        models.CheckConstraint(
            condition=models.Q((column, crm.text.StripInvisible(models.F(column)))),
            name=f"{table}_{column}_visible",
            violation_error_message=f"{column} must not contain invisible characters.",
        ),
        table=table,
        check=f"{column} = crm_strip_invisible({column})",
    )


class Migration(migrations.Migration):
    # Each CHECK is validated in a transaction of its own, after the one that added it NOT VALID.
    atomic = False

    dependencies = [
        ("products", "0013_policies_require_verified_context"),
        ("crm", "0016_names_fold_case_and_refuse_invisible_characters"),
    ]

    operations = [
        RefuseNameConflicts("product", "name", pattern=INVISIBLE, characters="invisible characters"),
        RefuseNameConflicts("product", "sku", pattern=INVISIBLE, characters="invisible characters"),
        visible("product", "product", "name"),
        visible("product", "product", "sku"),
        validate_constraint("product", "product_name_visible"),
        validate_constraint("product", "product_sku_visible"),
    ]
