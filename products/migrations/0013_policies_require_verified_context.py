"""Product, product_distributor: every policy accepts only the request context crm_request_context() set
(its MAC, crm migration 0012); the search functions, which copy the SELECT policy, are re-created from it."""

from django.db import migrations

from crm.migration_operations import RequireVerifiedContext


class Migration(migrations.Migration):
    dependencies = [
        ("products", "0012_names_and_text_limits_validated"),
        ("crm", "0012_unforgeable_request_context"),
    ]

    operations = [
        RequireVerifiedContext(
            ("product", "product_distributor"),
            search=(("product", None),),
        ),
    ]
