"""Foreign keys holding the tenant, validated; Django's single-column keys dropped; the reference checks
look rows up by (id, tenant_id). Why: organizations.0018_foreign_keys_hold_the_tenant."""

import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models

from crm.migration_operations import foreign_key_in_firm


class Migration(migrations.Migration):
    dependencies = [
        ("organizations", "0018_foreign_keys_hold_the_tenant"),
    ]

    operations = [
        foreign_key_in_firm(
            "customerdistributor",
            "customer",
            models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="distributors",
                to="organizations.organization",
            ),
            table="customer_distributor",
            references="organization",
            old="customer_distributor_customer_id_a3525f3b_fk_organization_id",
        ),
        foreign_key_in_firm(
            "customerdistributor",
            "distributor",
            models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="customers",
                to="organizations.organization",
            ),
            table="customer_distributor",
            references="organization",
            old="customer_distributor_distributor_id_fbd8ca9e_fk_organization_id",
        ),
        foreign_key_in_firm(
            "distributorauthorization",
            "distributor",
            models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="authorized_principals",
                to="organizations.organization",
            ),
            table="distributor_authorization",
            references="organization",
            old="distributor_authoriz_distributor_id_c2b43369_fk_organizat",
        ),
        foreign_key_in_firm(
            "distributorauthorization",
            "principal",
            models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="authorized_distributors",
                to="organizations.organization",
            ),
            table="distributor_authorization",
            references="organization",
            old="distributor_authoriz_principal_id_5e917991_fk_organizat",
        ),
        foreign_key_in_firm(
            "organization",
            "parent",
            models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="children",
                to="organizations.organization",
            ),
            table="organization",
            references="organization",
            old="organization_parent_id_981c8191_fk_organization_id",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="customerdistributor",
            name="check_references",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="distributorauthorization",
            name="check_references",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="organization",
            name="check_references",
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="customerdistributor",
            trigger=pgtrigger.compiler.Trigger(
                name="check_references",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    declare="DECLARE ref record;",
                    func="\n        IF NEW.customer_id IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.customer_id IS DISTINCT FROM OLD.customer_id) THEN\n            SELECT type INTO ref FROM organization\n             WHERE id = NEW.customer_id AND tenant_id = NEW.tenant_id AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.customer_id = OLD.customer_id AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)));\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'customer % does not exist', NEW.customer_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'customer_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            IF ref.type NOT IN ('customer', 'prospect') THEN\n                RAISE EXCEPTION 'customer must be a customer or prospect'\n                    USING ERRCODE = 'check_violation', COLUMN = 'customer_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        IF NEW.distributor_id IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.distributor_id IS DISTINCT FROM OLD.distributor_id) THEN\n            SELECT type INTO ref FROM organization\n             WHERE id = NEW.distributor_id AND tenant_id = NEW.tenant_id AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.distributor_id = OLD.distributor_id AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)));\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'distributor % does not exist', NEW.distributor_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'distributor_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            IF ref.type NOT IN ('distributor') THEN\n                RAISE EXCEPTION 'distributor must be a distributor'\n                    USING ERRCODE = 'check_violation', COLUMN = 'distributor_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        RETURN NEW;",
                    hash="440a02a05a6c8badcc90d723a29ffb19dd3c1135",
                    operation="INSERT OR UPDATE",
                    pgid="pgtrigger_check_references_90678",
                    table="customer_distributor",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="distributorauthorization",
            trigger=pgtrigger.compiler.Trigger(
                name="check_references",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    declare="DECLARE ref record;",
                    func="\n        IF NEW.distributor_id IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.distributor_id IS DISTINCT FROM OLD.distributor_id) THEN\n            SELECT type INTO ref FROM organization\n             WHERE id = NEW.distributor_id AND tenant_id = NEW.tenant_id AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.distributor_id = OLD.distributor_id AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)));\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'distributor % does not exist', NEW.distributor_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'distributor_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            IF ref.type NOT IN ('distributor') THEN\n                RAISE EXCEPTION 'distributor must be a distributor'\n                    USING ERRCODE = 'check_violation', COLUMN = 'distributor_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        IF NEW.principal_id IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.principal_id IS DISTINCT FROM OLD.principal_id) THEN\n            SELECT type INTO ref FROM organization\n             WHERE id = NEW.principal_id AND tenant_id = NEW.tenant_id AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.principal_id = OLD.principal_id AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)));\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'principal % does not exist', NEW.principal_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'principal_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            IF ref.type NOT IN ('principal') THEN\n                RAISE EXCEPTION 'principal must be a principal'\n                    USING ERRCODE = 'check_violation', COLUMN = 'principal_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        RETURN NEW;",
                    hash="879af3c90e72e058d54fcb17d25e0868f44d418f",
                    operation="INSERT OR UPDATE",
                    pgid="pgtrigger_check_references_30709",
                    table="distributor_authorization",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="organization",
            trigger=pgtrigger.compiler.Trigger(
                name="check_references",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    declare="DECLARE ref record; parent_type text;",
                    func="\n        IF NEW.parent_id IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.parent_id IS DISTINCT FROM OLD.parent_id) THEN\n            SELECT NULL::text AS type INTO ref FROM organization\n             WHERE id = NEW.parent_id AND tenant_id = NEW.tenant_id AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.parent_id = OLD.parent_id AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)));\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'parent % does not exist', NEW.parent_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'parent_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        IF TG_OP = 'UPDATE' AND NEW.type IS DISTINCT FROM OLD.type\n           AND NOT (OLD.type IN ('customer', 'prospect') AND NEW.type IN ('customer', 'prospect')) THEN\n            -- Other rows were checked against this type (an opportunity's distributor, a product's\n            -- principal…): only a prospect becoming a customer, or back, keeps them all true.\n            RAISE EXCEPTION 'type can change only between customer and prospect'\n                USING ERRCODE = 'check_violation', COLUMN = 'type', TABLE = TG_TABLE_NAME;\n        END IF;\n        IF TG_OP = 'UPDATE' AND NEW.type = 'principal' AND NEW.name IS DISTINCT FROM OLD.name\n           AND coalesce(current_setting('crm.role', true), '') IN ('manager', 'viewer') THEN\n            -- Principal names are unique among principals; a manager's rename could otherwise probe\n            -- the names of principals outside their book through the unique index.\n            RAISE EXCEPTION 'only an admin can rename a principal'\n                USING ERRCODE = 'check_violation', COLUMN = 'name', TABLE = TG_TABLE_NAME;\n        END IF;\n        IF NEW.parent_id IS NOT NULL THEN\n            SELECT type INTO parent_type FROM organization\n             WHERE id = NEW.parent_id AND tenant_id = NEW.tenant_id;\n            IF (parent_type = 'principal') IS DISTINCT FROM (NEW.type = 'principal') THEN\n                -- A chain stays within one visibility scope, so a visible row never points at a hidden one.\n                RAISE EXCEPTION 'parent must be a principal exactly when this organization is one'\n                    USING ERRCODE = 'check_violation', COLUMN = 'parent_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        NEW.scope_principal_id := CASE WHEN NEW.type = 'principal' THEN NEW.id END;\n        IF NEW.account_manager_id IS NOT NULL\n           AND (TG_OP = 'INSERT' OR NEW.account_manager_id IS DISTINCT FROM OLD.account_manager_id)\n           AND NOT crm_is_member(NEW.account_manager_id, NEW.tenant_id) THEN\n            RAISE EXCEPTION 'account_manager % does not exist', NEW.account_manager_id\n                USING ERRCODE = 'foreign_key_violation', COLUMN = 'account_manager_id', TABLE = TG_TABLE_NAME;\n        END IF;\n        RETURN NEW;",
                    hash="880673a28963ddc5afe2f0fac57893cbb40f0cdf",
                    operation="INSERT OR UPDATE",
                    pgid="pgtrigger_check_references_4c963",
                    table="organization",
                    when="BEFORE",
                ),
            ),
        ),
    ]
