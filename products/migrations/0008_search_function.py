"""Search that can use its GIN index under row level security (crm.rls.search_function_sql)."""

from django.db import migrations

from crm.migration_operations import CreateSearchFunction


class Migration(migrations.Migration):
    dependencies = [
        ("products", "0007_references_recheck_only_when_changed"),
    ]

    operations = [CreateSearchFunction("product")]
