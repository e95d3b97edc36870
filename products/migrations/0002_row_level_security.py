"""Row level security on the products app's tables (TablePolicy's conditions as they were then, DELETE for every writer: frozen literal SQL)."""

from django.db import migrations

from crm.migration_operations import RunPolicySQL


class Migration(migrations.Migration):
    dependencies = [("products", "0001_initial"), ("crm", "0002_row_level_security")]

    operations = [
        RunPolicySQL(
            sql=[
                "ALTER TABLE product ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE product FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS product_select ON product;",
                "CREATE POLICY product_select ON product FOR SELECT USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR (principal_id IS NULL AND (SELECT current_setting('crm.role', true)) <> 'viewer')));",
                "DROP POLICY IF EXISTS product_insert ON product;",
                "CREATE POLICY product_insert ON product FOR INSERT WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR principal_id IS NULL));",
                "DROP POLICY IF EXISTS product_update ON product;",
                "CREATE POLICY product_update ON product FOR UPDATE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR principal_id IS NULL)) WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR principal_id IS NULL));",
                "DROP POLICY IF EXISTS product_delete ON product;",
                "CREATE POLICY product_delete ON product FOR DELETE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR principal_id IS NULL));",
                'REVOKE ALL ON product FROM "{runtime_role}";',
                'GRANT SELECT, INSERT, UPDATE, DELETE ON product TO "{runtime_role}";',
            ],
            reverse_sql=[
                "DROP POLICY IF EXISTS product_select ON product;",
                "DROP POLICY IF EXISTS product_insert ON product;",
                "DROP POLICY IF EXISTS product_update ON product;",
                "DROP POLICY IF EXISTS product_delete ON product;",
                "ALTER TABLE product NO FORCE ROW LEVEL SECURITY;",
                "ALTER TABLE product DISABLE ROW LEVEL SECURITY;",
                'REVOKE ALL ON product FROM "{runtime_role}";',
            ],
        ),
        RunPolicySQL(
            sql=[
                "ALTER TABLE product_distributor ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE product_distributor FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS product_distributor_select ON product_distributor;",
                "CREATE POLICY product_distributor_select ON product_distributor FOR SELECT USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR (scope_principal_id IS NULL AND (SELECT current_setting('crm.role', true)) <> 'viewer')));",
                "DROP POLICY IF EXISTS product_distributor_insert ON product_distributor;",
                "CREATE POLICY product_distributor_insert ON product_distributor FOR INSERT WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL));",
                "DROP POLICY IF EXISTS product_distributor_update ON product_distributor;",
                "CREATE POLICY product_distributor_update ON product_distributor FOR UPDATE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL)) WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL));",
                "DROP POLICY IF EXISTS product_distributor_delete ON product_distributor;",
                "CREATE POLICY product_distributor_delete ON product_distributor FOR DELETE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL));",
                'REVOKE ALL ON product_distributor FROM "{runtime_role}";',
                'GRANT SELECT, INSERT, UPDATE, DELETE ON product_distributor TO "{runtime_role}";',
            ],
            reverse_sql=[
                "DROP POLICY IF EXISTS product_distributor_select ON product_distributor;",
                "DROP POLICY IF EXISTS product_distributor_insert ON product_distributor;",
                "DROP POLICY IF EXISTS product_distributor_update ON product_distributor;",
                "DROP POLICY IF EXISTS product_distributor_delete ON product_distributor;",
                "ALTER TABLE product_distributor NO FORCE ROW LEVEL SECURITY;",
                "ALTER TABLE product_distributor DISABLE ROW LEVEL SECURITY;",
                'REVOKE ALL ON product_distributor FROM "{runtime_role}";',
            ],
        ),
    ]
