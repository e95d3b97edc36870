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
        ("opportunities", "0016_foreign_keys_hold_the_tenant"),
        ("organizations", "0019_foreign_keys_in_firm_validated"),
        ("products", "0017_foreign_keys_in_firm_validated"),
    ]

    operations = [
        foreign_key_in_firm(
            "opportunity",
            "customer",
            models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="customer_opportunities",
                to="organizations.organization",
            ),
            table="opportunity",
            references="organization",
            old="opportunity_customer_id_1faa8e1f_fk_organization_id",
        ),
        foreign_key_in_firm(
            "opportunity",
            "distributor",
            models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="distributor_opportunities",
                to="organizations.organization",
            ),
            table="opportunity",
            references="organization",
            old="opportunity_distributor_id_e1559e09_fk_organization_id",
        ),
        foreign_key_in_firm(
            "opportunity",
            "principal",
            models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="principal_opportunities",
                to="organizations.organization",
            ),
            table="opportunity",
            references="organization",
            old="opportunity_principal_id_03ad63f2_fk_organization_id",
        ),
        foreign_key_in_firm(
            "opportunitycontact",
            "contact",
            models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="contacts.contact",
            ),
            table="opportunity_contact",
            references="contact",
            old="opportunity_contact_contact_id_76b40855_fk_contact_id",
        ),
        foreign_key_in_firm(
            "opportunitycontact",
            "opportunity",
            models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="opportunity_contacts",
                to="opportunities.opportunity",
            ),
            table="opportunity_contact",
            references="opportunity",
            old="opportunity_contact_opportunity_id_954c15a4_fk_opportunity_id",
        ),
        foreign_key_in_firm(
            "opportunityproduct",
            "opportunity",
            models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="opportunity_products",
                to="opportunities.opportunity",
            ),
            table="opportunity_product",
            references="opportunity",
            old="opportunity_product_opportunity_id_64f3ecd7_fk_opportunity_id",
        ),
        foreign_key_in_firm(
            "opportunityproduct",
            "product",
            models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="products.product",
            ),
            table="opportunity_product",
            references="product",
            old="opportunity_product_product_id_0f55c376_fk_product_id",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="opportunity",
            name="check_references",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="opportunitycontact",
            name="check_references",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="opportunityproduct",
            name="check_references",
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="opportunity",
            trigger=pgtrigger.compiler.Trigger(
                name="check_references",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    declare="DECLARE ref record;",
                    func="\n        IF NEW.principal_id IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.principal_id IS DISTINCT FROM OLD.principal_id) THEN\n            SELECT type INTO ref FROM organization\n             WHERE id = NEW.principal_id AND tenant_id = NEW.tenant_id AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.principal_id = OLD.principal_id AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)));\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'principal % does not exist', NEW.principal_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'principal_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            IF ref.type NOT IN ('principal') THEN\n                RAISE EXCEPTION 'principal must be a principal'\n                    USING ERRCODE = 'check_violation', COLUMN = 'principal_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        IF NEW.customer_id IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.customer_id IS DISTINCT FROM OLD.customer_id) THEN\n            SELECT type INTO ref FROM organization\n             WHERE id = NEW.customer_id AND tenant_id = NEW.tenant_id AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.customer_id = OLD.customer_id AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)));\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'customer % does not exist', NEW.customer_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'customer_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            IF ref.type NOT IN ('customer', 'prospect') THEN\n                RAISE EXCEPTION 'customer must be a customer or prospect'\n                    USING ERRCODE = 'check_violation', COLUMN = 'customer_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        IF NEW.distributor_id IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.distributor_id IS DISTINCT FROM OLD.distributor_id) THEN\n            SELECT type INTO ref FROM organization\n             WHERE id = NEW.distributor_id AND tenant_id = NEW.tenant_id AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.distributor_id = OLD.distributor_id AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)));\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'distributor % does not exist', NEW.distributor_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'distributor_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            IF ref.type NOT IN ('distributor') THEN\n                RAISE EXCEPTION 'distributor must be a distributor'\n                    USING ERRCODE = 'check_violation', COLUMN = 'distributor_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        IF TG_OP = 'UPDATE' AND NEW.principal_id IS DISTINCT FROM OLD.principal_id THEN\n            RAISE EXCEPTION 'principal cannot change once set'\n                USING ERRCODE = 'check_violation', COLUMN = 'principal_id', TABLE = TG_TABLE_NAME;\n        END IF;\n        IF NEW.owner_id IS NOT NULL\n           AND (TG_OP = 'INSERT' OR NEW.owner_id IS DISTINCT FROM OLD.owner_id)\n           AND NOT crm_is_member(NEW.owner_id, NEW.tenant_id) THEN\n            RAISE EXCEPTION 'owner % does not exist', NEW.owner_id\n                USING ERRCODE = 'foreign_key_violation', COLUMN = 'owner_id', TABLE = TG_TABLE_NAME;\n        END IF;\n        IF TG_OP = 'INSERT' OR NEW.stage IS DISTINCT FROM OLD.stage THEN\n            NEW.stage_changed_at := now();\n        ELSE\n            NEW.stage_changed_at := OLD.stage_changed_at;\n        END IF;\n        IF NEW.stage IN ('closed_won', 'closed_lost') THEN\n            NEW.closed_on := coalesce(NEW.closed_on, current_date);\n        ELSE\n            NEW.closed_on := NULL;\n        END IF;\n        RETURN NEW;",
                    hash="d4d0190821fee356c3d67b7934e50edcb1d55841",
                    operation="INSERT OR UPDATE",
                    pgid="pgtrigger_check_references_d4b53",
                    table="opportunity",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="opportunitycontact",
            trigger=pgtrigger.compiler.Trigger(
                name="check_references",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    declare="DECLARE ref record;",
                    func="\n        IF NEW.opportunity_id IS NOT NULL THEN\n            SELECT NULL::text AS type, principal_id AS copy_scope_principal_id INTO ref FROM opportunity\n             WHERE id = NEW.opportunity_id AND tenant_id = NEW.tenant_id AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.opportunity_id = OLD.opportunity_id AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)));\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'opportunity % does not exist', NEW.opportunity_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'opportunity_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            NEW.scope_principal_id := ref.copy_scope_principal_id;\n        END IF;\n        IF NEW.contact_id IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.contact_id IS DISTINCT FROM OLD.contact_id) THEN\n            SELECT NULL::text AS type INTO ref FROM contact\n             WHERE id = NEW.contact_id AND tenant_id = NEW.tenant_id AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.contact_id = OLD.contact_id AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)));\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'contact % does not exist', NEW.contact_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'contact_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        -- A shared contact, or one at the opportunity's own principal: never one hidden from a user who\n        -- sees the opportunity.\n        IF TG_OP = 'INSERT' OR NEW.contact_id IS DISTINCT FROM OLD.contact_id THEN\n            PERFORM 1 FROM contact\n              WHERE id = NEW.contact_id AND tenant_id = NEW.tenant_id\n                AND (scope_principal_id IS NULL OR scope_principal_id = NEW.scope_principal_id);\n        END IF;\n        IF (TG_OP = 'INSERT' OR NEW.contact_id IS DISTINCT FROM OLD.contact_id) AND NOT FOUND THEN\n            RAISE EXCEPTION 'contact must be shared or work at the opportunity''s principal'\n                USING ERRCODE = 'check_violation', COLUMN = 'contact_id', TABLE = TG_TABLE_NAME;\n        END IF;\n        RETURN NEW;",
                    hash="58136dc1984a3e819c0ce910429fdd5e03790474",
                    operation="INSERT OR UPDATE",
                    pgid="pgtrigger_check_references_cf2bd",
                    table="opportunity_contact",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="opportunityproduct",
            trigger=pgtrigger.compiler.Trigger(
                name="check_references",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    declare="DECLARE ref record;",
                    func="\n        IF NEW.opportunity_id IS NOT NULL THEN\n            SELECT NULL::text AS type, principal_id AS copy_scope_principal_id INTO ref FROM opportunity\n             WHERE id = NEW.opportunity_id AND tenant_id = NEW.tenant_id AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.opportunity_id = OLD.opportunity_id AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)));\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'opportunity % does not exist', NEW.opportunity_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'opportunity_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            NEW.scope_principal_id := ref.copy_scope_principal_id;\n        END IF;\n        IF NEW.product_id IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.product_id IS DISTINCT FROM OLD.product_id) THEN\n            SELECT NULL::text AS type INTO ref FROM product\n             WHERE id = NEW.product_id AND tenant_id = NEW.tenant_id AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.product_id = OLD.product_id AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)));\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'product % does not exist', NEW.product_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'product_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        PERFORM 1 FROM product\n         WHERE id = NEW.product_id AND tenant_id = NEW.tenant_id AND principal_id = NEW.scope_principal_id;\n        IF NOT FOUND THEN\n            RAISE EXCEPTION 'product must be one of the opportunity''s principal''s products'\n                USING ERRCODE = 'check_violation', COLUMN = 'product_id', TABLE = TG_TABLE_NAME;\n        END IF;\n        RETURN NEW;",
                    hash="ffbec8ea0157e47e49a2837bf171f495ba81d8a8",
                    operation="INSERT OR UPDATE",
                    pgid="pgtrigger_check_references_5a8d9",
                    table="opportunity_product",
                    when="BEFORE",
                ),
            ),
        ),
    ]
