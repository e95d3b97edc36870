"""Foreign keys holding the tenant, validated; Django's single-column keys dropped; the reference checks
look rows up by (id, tenant_id). Why: organizations.0018_foreign_keys_hold_the_tenant."""

import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models

from crm.migration_operations import foreign_key_in_firm


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0020_foreign_keys_in_firm_validated"),
        ("interactions", "0016_foreign_keys_hold_the_tenant"),
        ("opportunities", "0017_foreign_keys_in_firm_validated"),
        ("organizations", "0019_foreign_keys_in_firm_validated"),
    ]

    operations = [
        foreign_key_in_firm(
            "interaction",
            "contact",
            models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="interactions",
                to="contacts.contact",
            ),
            table="interaction",
            references="contact",
            old="interaction_contact_id_af8d9fae_fk_contact_id",
        ),
        foreign_key_in_firm(
            "interaction",
            "opportunity",
            models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="interactions",
                to="opportunities.opportunity",
            ),
            table="interaction",
            references="opportunity",
            old="interaction_opportunity_id_ccdd170d_fk_opportunity_id",
        ),
        foreign_key_in_firm(
            "interaction",
            "organization",
            models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="interactions",
                to="organizations.organization",
            ),
            table="interaction",
            references="organization",
            old="interaction_organization_id_f13e854c_fk_organization_id",
        ),
        foreign_key_in_firm(
            "interaction",
            "principal",
            models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="principal_interactions",
                to="organizations.organization",
            ),
            table="interaction",
            references="organization",
            old="interaction_principal_id_d0d5c460_fk_organization_id",
        ),
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
                    func="\n        IF NEW.organization_id IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.organization_id IS DISTINCT FROM OLD.organization_id) THEN\n            SELECT NULL::text AS type INTO ref FROM organization\n             WHERE id = NEW.organization_id AND tenant_id = NEW.tenant_id AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.organization_id = OLD.organization_id AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)));\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'organization % does not exist', NEW.organization_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'organization_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        IF NEW.opportunity_id IS NOT NULL THEN\n            SELECT NULL::text AS type, principal_id AS copy_principal_id INTO ref FROM opportunity\n             WHERE id = NEW.opportunity_id AND tenant_id = NEW.tenant_id AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.opportunity_id = OLD.opportunity_id AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)));\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'opportunity % does not exist', NEW.opportunity_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'opportunity_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            NEW.principal_id := ref.copy_principal_id;\n        END IF;\n        IF NEW.principal_id IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.principal_id IS DISTINCT FROM OLD.principal_id) THEN\n            SELECT type INTO ref FROM organization\n             WHERE id = NEW.principal_id AND tenant_id = NEW.tenant_id AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.principal_id = OLD.principal_id AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)));\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'principal % does not exist', NEW.principal_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'principal_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            IF ref.type NOT IN ('principal') THEN\n                RAISE EXCEPTION 'principal must be a principal'\n                    USING ERRCODE = 'check_violation', COLUMN = 'principal_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        IF NEW.user_id IS NOT NULL\n           AND (TG_OP = 'INSERT' OR NEW.user_id IS DISTINCT FROM OLD.user_id)\n           AND NOT crm_is_member(NEW.user_id, NEW.tenant_id) THEN\n            RAISE EXCEPTION 'user % does not exist', NEW.user_id\n                USING ERRCODE = 'foreign_key_violation', COLUMN = 'user_id', TABLE = TG_TABLE_NAME;\n        END IF;\n        SELECT scope_principal_id INTO organization_scope FROM organization\n         WHERE id = NEW.organization_id AND tenant_id = NEW.tenant_id;\n        IF organization_scope IS NOT NULL THEN\n            IF NEW.principal_id IS NOT NULL AND NEW.principal_id <> organization_scope THEN\n                RAISE EXCEPTION 'principal must be the organization itself when logging at a principal'\n                    USING ERRCODE = 'check_violation', COLUMN = 'principal_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            NEW.principal_id := organization_scope;\n        END IF;\n        IF NEW.contact_id IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.contact_id IS DISTINCT FROM OLD.contact_id\n                                           OR NEW.organization_id IS DISTINCT FROM OLD.organization_id) THEN\n            PERFORM 1 FROM contact\n              WHERE id = NEW.contact_id AND tenant_id = NEW.tenant_id AND organization_id = NEW.organization_id\n                AND deleted_at IS NULL;\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'contact must belong to the interaction''s organization'\n                    USING ERRCODE = 'check_violation', COLUMN = 'contact_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        RETURN NEW;",
                    hash="a8b9c23696598e931e640444bfd029838ff1b4b5",
                    operation="INSERT OR UPDATE",
                    pgid="pgtrigger_check_references_184d4",
                    table="interaction",
                    when="BEFORE",
                ),
            ),
        ),
    ]
