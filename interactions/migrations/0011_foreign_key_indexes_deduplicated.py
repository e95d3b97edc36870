"""Drop interaction's automatic foreign key indexes that a Meta index already provides.

interaction is the hot write (every call, visit and email logged): each index costs every insert.
contact_id and opportunity_id had two identical indexes (interaction_contact and interaction_opportunity
stay); organization_id's is a prefix of interaction_organization (organization_id, occurred_at DESC), a
full index (deleted rows too, as restore, purge and the foreign key checks need).
"""

import django.db.models.deletion
from django.db import migrations, models

from crm.migration_operations import drop_foreign_key_index


class Migration(migrations.Migration):
    # DROP/CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("interactions", "0010_shared_and_follow_up_list_indexes"),
    ]

    operations = [
        drop_foreign_key_index(
            "interaction",
            "contact",
            models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="interactions",
                to="contacts.contact",
            ),
            table="interaction",
            column="contact_id",
            index="interaction_contact_id_af8d9fae",
        ),
        drop_foreign_key_index(
            "interaction",
            "opportunity",
            models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="interactions",
                to="opportunities.opportunity",
            ),
            table="interaction",
            column="opportunity_id",
            index="interaction_opportunity_id_ccdd170d",
        ),
        drop_foreign_key_index(
            "interaction",
            "organization",
            models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="interactions",
                to="organizations.organization",
            ),
            table="interaction",
            column="organization_id",
            index="interaction_organization_id_f13e854c",
        ),
    ]
