"""Drop the foreign keys' automatic indexes that a Meta index already provides.

opportunity.customer_id, opportunity.distributor_id, opportunity_contact.contact_id and
opportunity_product.product_id each had two identical indexes (the named ones stay); owner_id's is a
prefix of opportunity_owner_next_action (owner_id, next_action_date), a full index.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from crm.migration_operations import drop_foreign_key_index


class Migration(migrations.Migration):
    # DROP/CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("opportunities", "0010_search_function"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        drop_foreign_key_index(
            "opportunity",
            "customer",
            models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="customer_opportunities",
                to="organizations.organization",
            ),
            table="opportunity",
            column="customer_id",
            index="opportunity_customer_id_1faa8e1f",
        ),
        drop_foreign_key_index(
            "opportunity",
            "distributor",
            models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="distributor_opportunities",
                to="organizations.organization",
            ),
            table="opportunity",
            column="distributor_id",
            index="opportunity_distributor_id_e1559e09",
        ),
        drop_foreign_key_index(
            "opportunity",
            "owner",
            models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
            table="opportunity",
            column="owner_id",
            index="opportunity_owner_id_79061cd4",
        ),
        drop_foreign_key_index(
            "opportunitycontact",
            "contact",
            models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="contacts.contact",
            ),
            table="opportunity_contact",
            column="contact_id",
            index="opportunity_contact_contact_id_76b40855",
        ),
        drop_foreign_key_index(
            "opportunityproduct",
            "product",
            models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="products.product",
            ),
            table="opportunity_product",
            column="product_id",
            index="opportunity_product_product_id_0f55c376",
        ),
    ]
