"""A contact merged into another says which (`merged_into`, ADR 0029), and the database holds it.

Expand only, as organizations 0020: a nullable column, its key and checks NOT VALID (validated next), its
index CONCURRENTLY after. `check_merge`: the survivor is a live contact of the same organization. A
contact's organization, fixed once set, may now follow its organization's merge (to the organization its
own was merged into, and nowhere else).
"""

import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.conf import settings
from django.db import migrations, models

from crm.migration_operations import add_check_not_valid, add_foreign_key_in_firm


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0020_foreign_keys_in_firm_validated"),
        ("crm", "0030_history_records_merges"),
        ("organizations", "0020_organization_merged_into"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(
            model_name="contact",
            name="check_references",
        ),
        migrations.AddField(
            model_name="contact",
            name="merged_into",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="contacts.contact",
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="contact",
            trigger=pgtrigger.compiler.Trigger(
                name="check_references",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    declare="DECLARE ref record;",
                    func="\n        IF NEW.organization_id IS NOT NULL THEN\n            SELECT NULL::text AS type, scope_principal_id AS copy_scope_principal_id INTO ref FROM organization\n             WHERE id = NEW.organization_id AND tenant_id = NEW.tenant_id AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.organization_id = OLD.organization_id AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)));\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'organization % does not exist', NEW.organization_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'organization_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            NEW.scope_principal_id := ref.copy_scope_principal_id;\n        END IF;\n        IF TG_OP = 'UPDATE' AND NEW.organization_id IS DISTINCT FROM OLD.organization_id THEN\n            PERFORM 1 FROM organization\n              WHERE id = OLD.organization_id AND tenant_id = NEW.tenant_id\n                AND merged_into_id = NEW.organization_id;\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'organization cannot change once set'\n                    USING ERRCODE = 'check_violation', COLUMN = 'organization_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        IF NEW.reports_to_id IS NOT NULL\n           AND (TG_OP = 'INSERT' OR NEW.reports_to_id IS DISTINCT FROM OLD.reports_to_id) THEN\n            IF NEW.reports_to_id = NEW.id THEN\n                RAISE EXCEPTION 'a contact cannot report to themselves'\n                    USING ERRCODE = 'check_violation', COLUMN = 'reports_to_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            PERFORM 1 FROM contact\n              WHERE id = NEW.reports_to_id AND tenant_id = NEW.tenant_id AND organization_id = NEW.organization_id\n                AND deleted_at IS NULL;\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'reports_to must be a contact of the same organization'\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'reports_to_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        RETURN NEW;",
                    hash="f206d25576d605bb933b598f11d750ba69f15c25",
                    operation="INSERT OR UPDATE",
                    pgid="pgtrigger_check_references_8dae8",
                    table="contact",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="contact",
            trigger=pgtrigger.compiler.Trigger(
                name="check_merge",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    declare="DECLARE survivor record;",
                    func="\n        IF NEW.merged_into_id IS NOT NULL\n           AND (TG_OP = 'INSERT' OR NEW.merged_into_id IS DISTINCT FROM OLD.merged_into_id) THEN\n            SELECT organization_id AS same INTO survivor FROM contact\n             WHERE id = NEW.merged_into_id AND tenant_id = NEW.tenant_id AND deleted_at IS NULL;\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'merged_into % does not exist', NEW.merged_into_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'merged_into_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            IF survivor.same IS DISTINCT FROM NEW.organization_id\n               AND NOT EXISTS (SELECT 1 FROM organization\n                                WHERE id = NEW.organization_id AND tenant_id = NEW.tenant_id\n                                  AND merged_into_id = survivor.same) THEN\n                RAISE EXCEPTION 'a contact merges only into a contact of its organization'\n                    USING ERRCODE = 'check_violation', COLUMN = 'merged_into_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        IF TG_OP = 'UPDATE' AND OLD.merged_into_id IS NOT NULL AND NEW.merged_into_id IS NULL THEN\n            RAISE EXCEPTION 'a merged row stays merged'\n                USING ERRCODE = 'check_violation', COLUMN = 'merged_into_id', TABLE = TG_TABLE_NAME;\n        END IF;\n        RETURN NEW;",
                    hash="cf4bc87926a8f52ae5d7dda761d8ed8afc993ab2",
                    operation="INSERT OR UPDATE",
                    pgid="pgtrigger_check_merge_2ef61",
                    table="contact",
                    when="BEFORE",
                ),
            ),
        ),
        add_foreign_key_in_firm("contact", "merged_into", "contact"),
        add_check_not_valid(
            "contact",
            models.CheckConstraint(
                condition=models.Q(("merged_into", models.F("id")), _negated=True),
                name="contact_merged_into_not_self",
            ),
            table="contact",
            check='NOT ("merged_into_id" = ("id") AND "merged_into_id" IS NOT NULL)',
        ),
        add_check_not_valid(
            "contact",
            models.CheckConstraint(
                condition=models.Q(
                    ("merged_into__isnull", True), ("deleted_at__isnull", False), _connector="OR"
                ),
                name="contact_merged_is_deleted",
            ),
            table="contact",
            check='("merged_into_id" IS NULL OR "deleted_at" IS NOT NULL)',
        ),
    ]
