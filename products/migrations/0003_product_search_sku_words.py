"""Index a product's SKU a second time with its hyphens as spaces, so ?search=CHK-1001 finds it.

PostgreSQL cannot change a generated column's expression (nor can Django's AlterField), so the column
and its GIN index are dropped and made again.
"""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("products", "0002_row_level_security"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="product", name="product_search"),
        migrations.RemoveField(model_name="product", name="search_vector"),
        migrations.AddField(
            model_name="product",
            name="search_vector",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.contrib.postgres.search.SearchVector(
                    "name",
                    "sku",
                    django.db.models.functions.text.Replace("sku", models.Value("-"), models.Value(" ")),
                    config="simple",
                ),
                output_field=django.contrib.postgres.search.SearchVectorField(),
            ),
        ),
        migrations.AddIndex(
            model_name="product",
            index=django.contrib.postgres.indexes.GinIndex(fields=["search_vector"], name="product_search"),
        ),
    ]
