"""Hard DELETE (a purge) is for admins only: rows are soft-deleted through UPDATE. Reversing restores the
DELETE policy the row level security migration created, for every writer (frozen literal SQL)."""

from django.db import migrations

from crm.migration_operations import RunPolicySQL


class Migration(migrations.Migration):
    dependencies = [
        ("organizations", "0004_history_version_soft_delete"),
        ("crm", "0005_history_writer_only_from_triggers"),
    ]

    operations = [
        RunPolicySQL(
            sql=[
                "ALTER TABLE organization ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE organization FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS organization_select ON organization;",
                "CREATE POLICY organization_select ON organization FOR SELECT USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL));",
                "DROP POLICY IF EXISTS organization_insert ON organization;",
                "CREATE POLICY organization_insert ON organization FOR INSERT WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL));",
                "DROP POLICY IF EXISTS organization_update ON organization;",
                "CREATE POLICY organization_update ON organization FOR UPDATE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL)) WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL));",
                "DROP POLICY IF EXISTS organization_delete ON organization;",
                "CREATE POLICY organization_delete ON organization FOR DELETE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin');",
                'REVOKE ALL ON organization FROM "{runtime_role}";',
                'GRANT SELECT, INSERT, UPDATE, DELETE ON organization TO "{runtime_role}";',
            ],
            reverse_sql=[
                "ALTER TABLE organization ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE organization FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS organization_select ON organization;",
                "CREATE POLICY organization_select ON organization FOR SELECT USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL));",
                "DROP POLICY IF EXISTS organization_insert ON organization;",
                "CREATE POLICY organization_insert ON organization FOR INSERT WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL));",
                "DROP POLICY IF EXISTS organization_update ON organization;",
                "CREATE POLICY organization_update ON organization FOR UPDATE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL)) WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL));",
                "DROP POLICY IF EXISTS organization_delete ON organization;",
                "CREATE POLICY organization_delete ON organization FOR DELETE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL));",
                'REVOKE ALL ON organization FROM "{runtime_role}";',
                'GRANT SELECT, INSERT, UPDATE, DELETE ON organization TO "{runtime_role}";',
            ],
        ),
        RunPolicySQL(
            sql=[
                "ALTER TABLE distributor_authorization ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE distributor_authorization FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS distributor_authorization_select ON distributor_authorization;",
                "CREATE POLICY distributor_authorization_select ON distributor_authorization FOR SELECT USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR (principal_id IS NULL AND (SELECT current_setting('crm.role', true)) <> 'viewer')));",
                "DROP POLICY IF EXISTS distributor_authorization_insert ON distributor_authorization;",
                "CREATE POLICY distributor_authorization_insert ON distributor_authorization FOR INSERT WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR principal_id IS NULL));",
                "DROP POLICY IF EXISTS distributor_authorization_update ON distributor_authorization;",
                "CREATE POLICY distributor_authorization_update ON distributor_authorization FOR UPDATE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR principal_id IS NULL)) WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR principal_id IS NULL));",
                "DROP POLICY IF EXISTS distributor_authorization_delete ON distributor_authorization;",
                "CREATE POLICY distributor_authorization_delete ON distributor_authorization FOR DELETE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin');",
                'REVOKE ALL ON distributor_authorization FROM "{runtime_role}";',
                'GRANT SELECT, INSERT, UPDATE, DELETE ON distributor_authorization TO "{runtime_role}";',
            ],
            reverse_sql=[
                "ALTER TABLE distributor_authorization ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE distributor_authorization FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS distributor_authorization_select ON distributor_authorization;",
                "CREATE POLICY distributor_authorization_select ON distributor_authorization FOR SELECT USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR (principal_id IS NULL AND (SELECT current_setting('crm.role', true)) <> 'viewer')));",
                "DROP POLICY IF EXISTS distributor_authorization_insert ON distributor_authorization;",
                "CREATE POLICY distributor_authorization_insert ON distributor_authorization FOR INSERT WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR principal_id IS NULL));",
                "DROP POLICY IF EXISTS distributor_authorization_update ON distributor_authorization;",
                "CREATE POLICY distributor_authorization_update ON distributor_authorization FOR UPDATE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR principal_id IS NULL)) WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR principal_id IS NULL));",
                "DROP POLICY IF EXISTS distributor_authorization_delete ON distributor_authorization;",
                "CREATE POLICY distributor_authorization_delete ON distributor_authorization FOR DELETE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR principal_id IS NULL));",
                'REVOKE ALL ON distributor_authorization FROM "{runtime_role}";',
                'GRANT SELECT, INSERT, UPDATE, DELETE ON distributor_authorization TO "{runtime_role}";',
            ],
        ),
        RunPolicySQL(
            sql=[
                "ALTER TABLE customer_distributor ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE customer_distributor FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS customer_distributor_select ON customer_distributor;",
                "CREATE POLICY customer_distributor_select ON customer_distributor FOR SELECT USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND true);",
                "DROP POLICY IF EXISTS customer_distributor_insert ON customer_distributor;",
                "CREATE POLICY customer_distributor_insert ON customer_distributor FOR INSERT WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager'));",
                "DROP POLICY IF EXISTS customer_distributor_update ON customer_distributor;",
                "CREATE POLICY customer_distributor_update ON customer_distributor FOR UPDATE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager')) WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager'));",
                "DROP POLICY IF EXISTS customer_distributor_delete ON customer_distributor;",
                "CREATE POLICY customer_distributor_delete ON customer_distributor FOR DELETE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin');",
                'REVOKE ALL ON customer_distributor FROM "{runtime_role}";',
                'GRANT SELECT, INSERT, UPDATE, DELETE ON customer_distributor TO "{runtime_role}";',
            ],
            reverse_sql=[
                "ALTER TABLE customer_distributor ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE customer_distributor FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS customer_distributor_select ON customer_distributor;",
                "CREATE POLICY customer_distributor_select ON customer_distributor FOR SELECT USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND true);",
                "DROP POLICY IF EXISTS customer_distributor_insert ON customer_distributor;",
                "CREATE POLICY customer_distributor_insert ON customer_distributor FOR INSERT WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager'));",
                "DROP POLICY IF EXISTS customer_distributor_update ON customer_distributor;",
                "CREATE POLICY customer_distributor_update ON customer_distributor FOR UPDATE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager')) WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager'));",
                "DROP POLICY IF EXISTS customer_distributor_delete ON customer_distributor;",
                "CREATE POLICY customer_distributor_delete ON customer_distributor FOR DELETE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager'));",
                'REVOKE ALL ON customer_distributor FROM "{runtime_role}";',
                'GRANT SELECT, INSERT, UPDATE, DELETE ON customer_distributor TO "{runtime_role}";',
            ],
        ),
    ]
