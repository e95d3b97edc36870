"""Sales imports (issue 19, ADR 0034): the `sales` kind and the options a kind takes beyond its file and
mapping (a sales file's distributor and period kind). The kind CHECK is widened by adding the new one NOT
VALID beside the old (every existing row holds the narrower one), then dropping the old; 0004 validates."""

from django.db import migrations, models

KINDS = [
    "organizations",
    "contacts",
    "products",
    "distributor_authorizations",
    "customer_distributors",
    "product_distributors",
]
OLD_CHECK = "kind IN (" + ", ".join(f"'{kind}'" for kind in KINDS) + ")"
NEW_KINDS = [*KINDS, "sales"]
NEW_CHECK = "kind IN (" + ", ".join(f"'{kind}'" for kind in NEW_KINDS) + ")"


class Migration(migrations.Migration):
    dependencies = [("imports", "0002_policies")]

    operations = [
        migrations.AddField(
            model_name="import",
            name="options",
            field=models.JSONField(
                blank=True, db_default=models.Value({}, output_field=models.JSONField()), default=dict
            ),
        ),
        migrations.AlterField(
            model_name="import",
            name="kind",
            field=models.CharField(
                choices=[
                    ("organizations", "Organizations"),
                    ("contacts", "Contacts"),
                    ("products", "Products"),
                    ("distributor_authorizations", "Distributor authorizations"),
                    ("customer_distributors", "Customer distributors"),
                    ("product_distributors", "Product distributors (item numbers)"),
                    ("sales", "Distributor sales (depletions)"),
                ],
                max_length=32,
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(model_name="import", name="import_run_kind_valid"),
                migrations.AddConstraint(
                    model_name="import",
                    constraint=models.CheckConstraint(
                        condition=models.Q(("kind__in", NEW_KINDS)), name="import_run_kind_known"
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f"ALTER TABLE import_run ADD CONSTRAINT import_run_kind_known CHECK ({NEW_CHECK}) NOT VALID",
                    "ALTER TABLE import_run DROP CONSTRAINT IF EXISTS import_run_kind_known",
                ),
                migrations.RunSQL(
                    "ALTER TABLE import_run DROP CONSTRAINT import_run_kind_valid",
                    f"ALTER TABLE import_run ADD CONSTRAINT import_run_kind_valid CHECK ({OLD_CHECK})",
                ),
            ],
        ),
    ]
