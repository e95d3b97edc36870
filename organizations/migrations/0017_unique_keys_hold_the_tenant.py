"""Relationship pairs unique per firm: tenant_id last in each unique key, rebuilt CONCURRENTLY under a new name (`…_in_firm`).

Why, and why no answer changes: crm.migrations.0018_unique_keys_hold_the_tenant.
"""

from django.db import migrations, models

from crm.migration_operations import replace_unique_index


class Migration(migrations.Migration):
    # CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("organizations", "0016_names_refuse_invisible_characters"),
    ]

    operations = [
        replace_unique_index(
            "distributorauthorization",
            "distributor_authorization_unique",
            models.UniqueConstraint(
                fields=["distributor", "principal", "tenant"],
                condition=models.Q(("deleted_at__isnull", True)),
                name="distributor_authorization_unique_in_firm",
                violation_error_message="This distributor is already authorized for this principal.",
            ),
            table="distributor_authorization",
            new="(distributor_id, principal_id, tenant_id) WHERE (deleted_at IS NULL)",
            old="(distributor_id, principal_id) WHERE (deleted_at IS NULL)",
        ),
        replace_unique_index(
            "customerdistributor",
            "customer_distributor_unique",
            models.UniqueConstraint(
                fields=["customer", "distributor", "tenant"],
                condition=models.Q(("deleted_at__isnull", True)),
                name="customer_distributor_unique_in_firm",
                violation_error_message="This distributor already serves this customer.",
            ),
            table="customer_distributor",
            new="(customer_id, distributor_id, tenant_id) WHERE (deleted_at IS NULL)",
            old="(customer_id, distributor_id) WHERE (deleted_at IS NULL)",
        ),
        replace_unique_index(
            "customerdistributor",
            "customer_distributor_one_primary",
            models.UniqueConstraint(
                fields=["customer", "tenant"],
                condition=models.Q(("deleted_at__isnull", True), ("is_primary", True)),
                name="customer_distributor_one_primary_in_firm",
                violation_error_message="This customer already has a primary distributor.",
            ),
            table="customer_distributor",
            new="(customer_id, tenant_id) WHERE (deleted_at IS NULL AND is_primary)",
            old="(customer_id) WHERE (deleted_at IS NULL AND is_primary)",
        ),
    ]
