"""Products and contacts on a deal unique per firm: tenant_id in the unique key (issue 15, docs/scaling.md).

A firm's rows are distributed by tenant_id when the service is sharded (Citus, or firms placed on several
clusters), and a unique index can only be enforced on a shard when it holds the distribution column. The
rows a key already names belong to one firm (the reference triggers keep a row's references in its own
firm), so adding tenant_id last changes no answer: the same rows are duplicates, and the index still leads
with the column a lookup or a foreign key check searches by. Each index is rebuilt CONCURRENTLY beside the
old one, which is then dropped CONCURRENTLY (crm.migration_operations.replace_unique_index): uniqueness
holds throughout. The new index is named for what it now says: `…_in_firm`.
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
