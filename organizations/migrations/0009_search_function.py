"""Search that can use its GIN index under row level security (crm.rls.search_function_sql)."""

from django.db import migrations

from crm.migration_operations import CreateSearchFunction


class Migration(migrations.Migration):
    dependencies = [
        ("organizations", "0008_list_indexes"),
    ]

    operations = [CreateSearchFunction("organization")]
