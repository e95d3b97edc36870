"""Foreign keys holding the tenant, validated; Django's single-column keys dropped; the reference checks
look rows up by (id, tenant_id). Why: organizations.0018_foreign_keys_hold_the_tenant."""

import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models

from crm.migration_operations import foreign_key_in_firm


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0019_foreign_keys_hold_the_tenant"),
        ("organizations", "0019_foreign_keys_in_firm_validated"),
    ]

    operations = [
        foreign_key_in_firm(
            "principalassignment",
            "principal",
            models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="assignments",
                to="organizations.organization",
            ),
            table="principal_assignment",
            references="organization",
            old="principal_assignment_principal_id_5f12c215_fk_organization_id",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="principalassignment",
            name="check_references",
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="principalassignment",
            trigger=pgtrigger.compiler.Trigger(
                name="check_references",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    declare="DECLARE ref record;",
                    func="\n        IF NEW.principal_id IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.principal_id IS DISTINCT FROM OLD.principal_id) THEN\n            SELECT type INTO ref FROM organization\n             WHERE id = NEW.principal_id AND tenant_id = NEW.tenant_id AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.principal_id = OLD.principal_id AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)));\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'principal % does not exist', NEW.principal_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'principal_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            IF ref.type NOT IN ('principal') THEN\n                RAISE EXCEPTION 'principal must be a principal'\n                    USING ERRCODE = 'check_violation', COLUMN = 'principal_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        IF NEW.user_id IS NOT NULL\n           AND (TG_OP = 'INSERT' OR NEW.user_id IS DISTINCT FROM OLD.user_id)\n           AND NOT crm_is_member(NEW.user_id, NEW.tenant_id) THEN\n            RAISE EXCEPTION 'user % does not exist', NEW.user_id\n                USING ERRCODE = 'foreign_key_violation', COLUMN = 'user_id', TABLE = TG_TABLE_NAME;\n        END IF;\n        RETURN NEW;",
                    hash="3ffebec2430c9999c4decc4bcddcdddc37d6f33c",
                    operation="INSERT OR UPDATE",
                    pgid="pgtrigger_check_references_284a2",
                    table="principal_assignment",
                    when="BEFORE",
                ),
            ),
        ),
    ]
