"""Names the admin shows: "kept sales rows" for the unmatched rows, "customer aliases" (options only, no SQL)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("sales", "0004_policies"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="customeralias",
            options={"ordering": ["id"], "verbose_name_plural": "customer aliases"},
        ),
        migrations.AlterModelOptions(
            name="salesunmatched",
            options={
                "ordering": ["id"],
                "verbose_name": "kept sales row",
                "verbose_name_plural": "kept sales rows",
            },
        ),
    ]
