"""Search that picks its page from its own matches, in the list's order (crm.rls.keyed_search_function_sql)."""

from django.db import migrations

from crm.migration_operations import CreateKeyedSearchFunction


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0011_foreign_key_indexes_deduplicated"),
    ]

    operations = [CreateKeyedSearchFunction("contact", ("last_name", "first_name"))]
