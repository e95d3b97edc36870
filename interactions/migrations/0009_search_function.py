"""Search of interactions through a capped search function (crm.api.filters.search says when it is used)."""

from django.db import migrations

from crm.migration_operations import CreateSearchFunction


class Migration(migrations.Migration):
    dependencies = [
        ("interactions", "0008_list_indexes"),
    ]

    operations = [CreateSearchFunction("interaction", cap=2000)]  # Interaction.search_id_cap when written
