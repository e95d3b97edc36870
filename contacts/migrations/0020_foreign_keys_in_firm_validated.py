"""Foreign keys holding the tenant, validated; Django's single-column keys dropped; the reference checks
look rows up by (id, tenant_id). Why: organizations.0018_foreign_keys_hold_the_tenant."""

import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models

from crm.migration_operations import foreign_key_in_firm


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0019_foreign_keys_hold_the_tenant"),
        ("organizations", "0019_foreign_keys_in_firm_validated"),
    ]

    operations = [
        foreign_key_in_firm(
            "contact",
            "organization",
            models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="contacts",
                to="organizations.organization",
            ),
            table="contact",
            references="organization",
            old="contact_organization_id_64f4f041_fk_organization_id",
        ),
        foreign_key_in_firm(
            "contact",
            "reports_to",
            models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="direct_reports",
                to="contacts.contact",
            ),
            table="contact",
            references="contact",
            old="contact_reports_to_id_17f1e8c3_fk_contact_id",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="contact",
            name="check_references",
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="contact",
            trigger=pgtrigger.compiler.Trigger(
                name="check_references",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    declare="DECLARE ref record;",
                    func="\n        IF NEW.organization_id IS NOT NULL THEN\n            SELECT NULL::text AS type, scope_principal_id AS copy_scope_principal_id INTO ref FROM organization\n             WHERE id = NEW.organization_id AND tenant_id = NEW.tenant_id AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.organization_id = OLD.organization_id AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)));\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'organization % does not exist', NEW.organization_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'organization_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            NEW.scope_principal_id := ref.copy_scope_principal_id;\n        END IF;\n        IF TG_OP = 'UPDATE' AND NEW.organization_id IS DISTINCT FROM OLD.organization_id THEN\n            RAISE EXCEPTION 'organization cannot change once set'\n                USING ERRCODE = 'check_violation', COLUMN = 'organization_id', TABLE = TG_TABLE_NAME;\n        END IF;\n        IF NEW.reports_to_id IS NOT NULL\n           AND (TG_OP = 'INSERT' OR NEW.reports_to_id IS DISTINCT FROM OLD.reports_to_id) THEN\n            IF NEW.reports_to_id = NEW.id THEN\n                RAISE EXCEPTION 'a contact cannot report to themselves'\n                    USING ERRCODE = 'check_violation', COLUMN = 'reports_to_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            PERFORM 1 FROM contact\n              WHERE id = NEW.reports_to_id AND tenant_id = NEW.tenant_id AND organization_id = NEW.organization_id\n                AND deleted_at IS NULL;\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'reports_to must be a contact of the same organization'\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'reports_to_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        RETURN NEW;",
                    hash="41f164391588658eab00b819646174e96b8e86d1",
                    operation="INSERT OR UPDATE",
                    pgid="pgtrigger_check_references_8dae8",
                    table="contact",
                    when="BEFORE",
                ),
            ),
        ),
    ]
