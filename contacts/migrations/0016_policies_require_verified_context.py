"""Contact: every policy accepts only the request context crm_request_context() set
(its MAC, crm migration 0012); the search functions, which copy the SELECT policy, are re-created from it."""

from django.db import migrations

from crm.migration_operations import RequireVerifiedContext


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0015_names_and_text_limits_validated"),
        ("crm", "0012_unforgeable_request_context"),
    ]

    operations = [
        RequireVerifiedContext(
            ("contact",),
            search=(("contact", None),),
            keyed_search=(("contact", ("last_name", "first_name")),),
        ),
    ]
