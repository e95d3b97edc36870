"""Index a contact's email a second time as its words, so ?search=jsmith@corner finds jsmith@corner-deli.test.

PostgreSQL cannot change a generated column's expression (nor can Django's AlterField), so the column
and its GIN index are dropped and made again.
"""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0003_row_level_security"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="contact", name="contact_search"),
        migrations.RemoveField(model_name="contact", name="search_vector"),
        migrations.AddField(
            model_name="contact",
            name="search_vector",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.contrib.postgres.search.SearchVector(
                    "first_name",
                    "last_name",
                    "email",
                    django.db.models.functions.text.Replace(
                        django.db.models.functions.text.Replace(
                            django.db.models.functions.text.Replace(
                                "email", models.Value("@"), models.Value(" ")
                            ),
                            models.Value("."),
                            models.Value(" "),
                        ),
                        models.Value("-"),
                        models.Value(" "),
                    ),
                    "title",
                    config="simple",
                ),
                output_field=django.contrib.postgres.search.SearchVectorField(),
            ),
        ),
        migrations.AddIndex(
            model_name="contact",
            index=django.contrib.postgres.indexes.GinIndex(fields=["search_vector"], name="contact_search"),
        ),
    ]
