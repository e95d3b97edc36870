"""An organization merged into another says which (`merged_into`, ADR 0029), and the database holds it.

Expand only: a nullable column (catalog only), its key to the survivor in the firm and its two checks added
NOT VALID (new writes only; validated by the next migration), its index built CONCURRENTLY by the one after.
The `check_merge` trigger: the survivor is live, of the firm, visible to the writer and of the same type;
principals are not merged; a merged row stays merged.
"""

import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.conf import settings
from django.db import migrations, models

from crm.migration_operations import add_check_not_valid, add_foreign_key_in_firm


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0030_history_records_merges"),
        ("organizations", "0019_foreign_keys_in_firm_validated"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="organization",
            name="merged_into",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="organizations.organization",
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="organization",
            trigger=pgtrigger.compiler.Trigger(
                name="check_merge",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    declare="DECLARE survivor record;",
                    func="\n        IF NEW.merged_into_id IS NOT NULL\n           AND (TG_OP = 'INSERT' OR NEW.merged_into_id IS DISTINCT FROM OLD.merged_into_id) THEN\n            IF NEW.type = 'principal' THEN\n                RAISE EXCEPTION 'principals are not merged'\n                    USING ERRCODE = 'check_violation', COLUMN = 'merged_into_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            SELECT type AS same INTO survivor FROM organization\n             WHERE id = NEW.merged_into_id AND tenant_id = NEW.tenant_id AND deleted_at IS NULL;\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'merged_into % does not exist', NEW.merged_into_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'merged_into_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            IF survivor.same IS DISTINCT FROM NEW.type THEN\n                RAISE EXCEPTION 'an organization merges only into one of its type'\n                    USING ERRCODE = 'check_violation', COLUMN = 'merged_into_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        IF TG_OP = 'UPDATE' AND OLD.merged_into_id IS NOT NULL AND NEW.merged_into_id IS NULL THEN\n            RAISE EXCEPTION 'a merged row stays merged'\n                USING ERRCODE = 'check_violation', COLUMN = 'merged_into_id', TABLE = TG_TABLE_NAME;\n        END IF;\n        RETURN NEW;",
                    hash="91bca94921bd5ee642091846b0efd2ea86294a0a",
                    operation="INSERT OR UPDATE",
                    pgid="pgtrigger_check_merge_c267c",
                    table="organization",
                    when="BEFORE",
                ),
            ),
        ),
        add_foreign_key_in_firm("organization", "merged_into", "organization"),
        add_check_not_valid(
            "organization",
            models.CheckConstraint(
                condition=models.Q(("merged_into", models.F("id")), _negated=True),
                name="organization_merged_into_not_self",
            ),
            table="organization",
            check='NOT ("merged_into_id" = ("id") AND "merged_into_id" IS NOT NULL)',
        ),
        add_check_not_valid(
            "organization",
            models.CheckConstraint(
                condition=models.Q(
                    ("merged_into__isnull", True), ("deleted_at__isnull", False), _connector="OR"
                ),
                name="organization_merged_is_deleted",
            ),
            table="organization",
            check='("merged_into_id" IS NULL OR "deleted_at" IS NOT NULL)',
        ),
    ]
