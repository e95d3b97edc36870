"""Foreign keys holding the tenant, validated; Django's single-column keys dropped; the reference checks
look rows up by (id, tenant_id). Why: organizations.0018_foreign_keys_hold_the_tenant."""

import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models

from crm.migration_operations import foreign_key_in_firm


class Migration(migrations.Migration):
    dependencies = [
        ("organizations", "0019_foreign_keys_in_firm_validated"),
        ("products", "0016_foreign_keys_hold_the_tenant"),
    ]

    operations = [
        foreign_key_in_firm(
            "product",
            "principal",
            models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="products",
                to="organizations.organization",
            ),
            table="product",
            references="organization",
            old="product_principal_id_a8bc9152_fk_organization_id",
        ),
        foreign_key_in_firm(
            "productdistributor",
            "distributor",
            models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="product_items",
                to="organizations.organization",
            ),
            table="product_distributor",
            references="organization",
            old="product_distributor_distributor_id_4216cbe2_fk_organization_id",
        ),
        foreign_key_in_firm(
            "productdistributor",
            "product",
            models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="distributor_items",
                to="products.product",
            ),
            table="product_distributor",
            references="product",
            old="product_distributor_product_id_0cd05f75_fk_product_id",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="product",
            name="check_references",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="productdistributor",
            name="check_references",
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="product",
            trigger=pgtrigger.compiler.Trigger(
                name="check_references",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    declare="DECLARE ref record;",
                    func="\n        IF NEW.principal_id IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.principal_id IS DISTINCT FROM OLD.principal_id) THEN\n            SELECT type INTO ref FROM organization\n             WHERE id = NEW.principal_id AND tenant_id = NEW.tenant_id AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.principal_id = OLD.principal_id AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)));\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'principal % does not exist', NEW.principal_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'principal_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            IF ref.type NOT IN ('principal') THEN\n                RAISE EXCEPTION 'principal must be a principal'\n                    USING ERRCODE = 'check_violation', COLUMN = 'principal_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        IF TG_OP = 'UPDATE' AND NEW.principal_id IS DISTINCT FROM OLD.principal_id THEN\n            RAISE EXCEPTION 'principal cannot change once set'\n                USING ERRCODE = 'check_violation', COLUMN = 'principal_id', TABLE = TG_TABLE_NAME;\n        END IF;\n        RETURN NEW;",
                    hash="90fde3baecab11d91bfe31da7e277f6d4f4df5bf",
                    operation="INSERT OR UPDATE",
                    pgid="pgtrigger_check_references_6dde5",
                    table="product",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="productdistributor",
            trigger=pgtrigger.compiler.Trigger(
                name="check_references",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    declare="DECLARE ref record;",
                    func="\n        IF NEW.product_id IS NOT NULL THEN\n            SELECT NULL::text AS type, principal_id AS copy_scope_principal_id INTO ref FROM product\n             WHERE id = NEW.product_id AND tenant_id = NEW.tenant_id AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.product_id = OLD.product_id AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)));\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'product % does not exist', NEW.product_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'product_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            NEW.scope_principal_id := ref.copy_scope_principal_id;\n        END IF;\n        IF NEW.distributor_id IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.distributor_id IS DISTINCT FROM OLD.distributor_id) THEN\n            SELECT type INTO ref FROM organization\n             WHERE id = NEW.distributor_id AND tenant_id = NEW.tenant_id AND (deleted_at IS NULL OR (TG_OP = 'UPDATE' AND NEW.distributor_id = OLD.distributor_id AND NOT (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)));\n            IF NOT FOUND THEN\n                RAISE EXCEPTION 'distributor % does not exist', NEW.distributor_id\n                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'distributor_id', TABLE = TG_TABLE_NAME;\n            END IF;\n            IF ref.type NOT IN ('distributor') THEN\n                RAISE EXCEPTION 'distributor must be a distributor'\n                    USING ERRCODE = 'check_violation', COLUMN = 'distributor_id', TABLE = TG_TABLE_NAME;\n            END IF;\n        END IF;\n        RETURN NEW;",
                    hash="92e789e3c31bd1a11135fdd4eeba29488d24062e",
                    operation="INSERT OR UPDATE",
                    pgid="pgtrigger_check_references_dae70",
                    table="product_distributor",
                    when="BEFORE",
                ),
            ),
        ),
    ]
