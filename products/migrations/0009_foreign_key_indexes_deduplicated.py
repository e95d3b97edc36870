"""Drop product_distributor.distributor_id's automatic index: product_distributor_distrib is identical."""

import django.db.models.deletion
from django.db import migrations, models

from crm.migration_operations import drop_foreign_key_index


class Migration(migrations.Migration):
    # DROP/CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("products", "0008_search_function"),
    ]

    operations = [
        drop_foreign_key_index(
            "productdistributor",
            "distributor",
            models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="product_items",
                to="organizations.organization",
            ),
            table="product_distributor",
            column="distributor_id",
            index="product_distributor_distributor_id_4216cbe2",
        ),
    ]
