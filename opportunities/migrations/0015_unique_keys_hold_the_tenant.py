"""Products and contacts on a deal unique per firm: tenant_id last in each unique key, rebuilt CONCURRENTLY under a new name (`…_in_firm`).

Why, and why no answer changes: crm.migrations.0018_unique_keys_hold_the_tenant.
"""

from django.db import migrations, models

from crm.migration_operations import replace_unique_index


class Migration(migrations.Migration):
    # CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("opportunities", "0014_policies_require_verified_context"),
    ]

    operations = [
        replace_unique_index(
            "opportunityproduct",
            "opportunity_product_unique",
            models.UniqueConstraint(
                fields=["opportunity", "product", "tenant"],
                condition=models.Q(("deleted_at__isnull", True)),
                name="opportunity_product_unique_in_firm",
                violation_error_message="This product is already on this opportunity.",
            ),
            table="opportunity_product",
            new="(opportunity_id, product_id, tenant_id) WHERE (deleted_at IS NULL)",
            old="(opportunity_id, product_id) WHERE (deleted_at IS NULL)",
        ),
        replace_unique_index(
            "opportunitycontact",
            "opportunity_contact_unique",
            models.UniqueConstraint(
                fields=["opportunity", "contact", "tenant"],
                condition=models.Q(("deleted_at__isnull", True)),
                name="opportunity_contact_unique_in_firm",
                violation_error_message="This contact is already on this opportunity.",
            ),
            table="opportunity_contact",
            new="(opportunity_id, contact_id, tenant_id) WHERE (deleted_at IS NULL)",
            old="(opportunity_id, contact_id) WHERE (deleted_at IS NULL)",
        ),
    ]
