"""An interaction keeps a contact deleted since when only its organization changes (a merge moves both).

The contact must still be of the interaction's (new) organization: only a merge moves contacts between
organizations (ADR 0029).
"""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("interactions", "0017_foreign_keys_in_firm_validated"),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(
            model_name="interaction",
            name="check_references",
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="interaction",
            trigger=pgtrigger.compiler.Trigger(
                name="check_references",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    declare="DECLARE ref record; organization_scope bigint;",
                    func="\n        IF NEW.organization_id IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.organization_id IS DISTINCT FROM OLD.organization_id) THEN\n            SELECT NULL::text AS type INTO ref FROM organization\n             WHERE id = NEW.organization_id AND tenant_id = NEW.tenant_id AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.organization_id = OLD.organization_id AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)));\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'organization % does not exist', NEW.organization_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'organization_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        IF NEW.opportunity_id IS NOT NULL THEN\n            SELECT NULL::text AS type, principal_id AS copy_principal_id INTO ref FROM opportunity\n             WHERE id = NEW.opportunity_id AND tenant_id = NEW.tenant_id AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.opportunity_id = OLD.opportunity_id AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)));\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'opportunity % does not exist', NEW.opportunity_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'opportunity_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            NEW.principal_id := ref.copy_principal_id;\n        END IF;\n        IF NEW.principal_id IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.principal_id IS DISTINCT FROM OLD.principal_id) THEN\n            SELECT type INTO ref FROM organization\n             WHERE id = NEW.principal_id AND tenant_id = NEW.tenant_id AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.principal_id = OLD.principal_id AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)));\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'principal % does not exist', NEW.principal_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'principal_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            IF ref.type NOT IN ('principal') THEN\n                RAISE EXCEPTION 'principal must be a principal'\n                    USING ERRCODE = 'check_violation', COLUMN = 'principal_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        IF NEW.user_id IS NOT NULL\n           AND (TG_OP = 'INSERT' OR NEW.user_id IS DISTINCT FROM OLD.user_id)\n           AND NOT crm_is_member(NEW.user_id, NEW.tenant_id) THEN\n            RAISE EXCEPTION 'user % does not exist', NEW.user_id\n                USING ERRCODE = 'foreign_key_violation', COLUMN = 'user_id', TABLE = TG_TABLE_NAME;\n        END IF;\n        SELECT scope_principal_id INTO organization_scope FROM organization\n         WHERE id = NEW.organization_id AND tenant_id = NEW.tenant_id;\n        IF organization_scope IS NOT NULL THEN\n            IF NEW.principal_id IS NOT NULL AND NEW.principal_id <> organization_scope THEN\n                RAISE EXCEPTION 'principal must be the organization itself when logging at a principal'\n                    USING ERRCODE = 'check_violation', COLUMN = 'principal_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            NEW.principal_id := organization_scope;\n        END IF;\n        IF NEW.contact_id IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.contact_id IS DISTINCT FROM OLD.contact_id\n                                           OR NEW.organization_id IS DISTINCT FROM OLD.organization_id) THEN\n            PERFORM 1 FROM contact\n              WHERE id = NEW.contact_id AND tenant_id = NEW.tenant_id AND organization_id = NEW.organization_id\n                -- A contact deleted since may stay (as any reference may) when only the organization\n                -- changes: a merge moves the interaction with its contact (ADR 0029).\n                AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.contact_id = OLD.contact_id));\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'contact must belong to the interaction''s organization'\n                    USING ERRCODE = 'check_violation', COLUMN = 'contact_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        RETURN NEW;",
                    hash="7cb9a6c8f6ac27a8613e8d3dc0bfec86e57fd477",
                    operation="INSERT OR UPDATE",
                    pgid="pgtrigger_check_references_184d4",
                    table="interaction",
                    when="BEFORE",
                ),
            ),
        ),
    ]
