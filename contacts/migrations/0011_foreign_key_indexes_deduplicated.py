"""Drop contact's automatic foreign key indexes that a Meta index already provides.

reports_to_id had two identical indexes (contact_reports_to stays); organization_id's is a prefix of
contact_organization (organization_id, last_name), a full index that also serves the foreign key checks.
"""

import django.db.models.deletion
from django.db import migrations, models

from crm.migration_operations import drop_foreign_key_index


class Migration(migrations.Migration):
    # DROP/CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("contacts", "0010_search_function"),
    ]

    operations = [
        drop_foreign_key_index(
            "contact",
            "organization",
            models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="contacts",
                to="organizations.organization",
            ),
            table="contact",
            column="organization_id",
            index="contact_organization_id_64f4f041",
        ),
        drop_foreign_key_index(
            "contact",
            "reports_to",
            models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="direct_reports",
                to="contacts.contact",
            ),
            table="contact",
            column="reports_to_id",
            index="contact_reports_to_id_17f1e8c3",
        ),
    ]
