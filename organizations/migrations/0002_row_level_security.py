"""Row level security on organizations, their relationships, and books, as it was then (DELETE for every
writer, narrowed to admins by 0005_purge_for_admins_only): frozen literal SQL."""

from django.db import migrations

from crm.migration_operations import RunPolicySQL


class Migration(migrations.Migration):
    dependencies = [("organizations", "0001_initial"), ("crm", "0002_row_level_security")]

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
                "CREATE POLICY organization_delete ON organization FOR DELETE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL));",
                'REVOKE ALL ON organization FROM "{runtime_role}";',
                'GRANT SELECT, INSERT, UPDATE, DELETE ON organization TO "{runtime_role}";',
            ],
            reverse_sql=[
                "DROP POLICY IF EXISTS organization_select ON organization;",
                "DROP POLICY IF EXISTS organization_insert ON organization;",
                "DROP POLICY IF EXISTS organization_update ON organization;",
                "DROP POLICY IF EXISTS organization_delete ON organization;",
                "ALTER TABLE organization NO FORCE ROW LEVEL SECURITY;",
                "ALTER TABLE organization DISABLE ROW LEVEL SECURITY;",
                'REVOKE ALL ON organization FROM "{runtime_role}";',
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
                "CREATE POLICY distributor_authorization_delete ON distributor_authorization FOR DELETE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR principal_id IS NULL));",
                'REVOKE ALL ON distributor_authorization FROM "{runtime_role}";',
                'GRANT SELECT, INSERT, UPDATE, DELETE ON distributor_authorization TO "{runtime_role}";',
            ],
            reverse_sql=[
                "DROP POLICY IF EXISTS distributor_authorization_select ON distributor_authorization;",
                "DROP POLICY IF EXISTS distributor_authorization_insert ON distributor_authorization;",
                "DROP POLICY IF EXISTS distributor_authorization_update ON distributor_authorization;",
                "DROP POLICY IF EXISTS distributor_authorization_delete ON distributor_authorization;",
                "ALTER TABLE distributor_authorization NO FORCE ROW LEVEL SECURITY;",
                "ALTER TABLE distributor_authorization DISABLE ROW LEVEL SECURITY;",
                'REVOKE ALL ON distributor_authorization FROM "{runtime_role}";',
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
                "CREATE POLICY customer_distributor_delete ON customer_distributor FOR DELETE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager'));",
                'REVOKE ALL ON customer_distributor FROM "{runtime_role}";',
                'GRANT SELECT, INSERT, UPDATE, DELETE ON customer_distributor TO "{runtime_role}";',
            ],
            reverse_sql=[
                "DROP POLICY IF EXISTS customer_distributor_select ON customer_distributor;",
                "DROP POLICY IF EXISTS customer_distributor_insert ON customer_distributor;",
                "DROP POLICY IF EXISTS customer_distributor_update ON customer_distributor;",
                "DROP POLICY IF EXISTS customer_distributor_delete ON customer_distributor;",
                "ALTER TABLE customer_distributor NO FORCE ROW LEVEL SECURITY;",
                "ALTER TABLE customer_distributor DISABLE ROW LEVEL SECURITY;",
                'REVOKE ALL ON customer_distributor FROM "{runtime_role}";',
            ],
        ),
        # Books: admins manage them; everyone else reads their own.
        RunPolicySQL(
            sql=[
                "ALTER TABLE principal_assignment ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE principal_assignment FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS principal_assignment_select ON principal_assignment;",
                "CREATE POLICY principal_assignment_select ON principal_assignment FOR SELECT USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND ((SELECT current_setting('crm.role', true)) = 'admin' OR user_id = (SELECT nullif(current_setting('crm.user_id', true), '')::bigint)));",
                "DROP POLICY IF EXISTS principal_assignment_insert ON principal_assignment;",
                "CREATE POLICY principal_assignment_insert ON principal_assignment FOR INSERT WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin');",
                "DROP POLICY IF EXISTS principal_assignment_update ON principal_assignment;",
                "CREATE POLICY principal_assignment_update ON principal_assignment FOR UPDATE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin') WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin');",
                "DROP POLICY IF EXISTS principal_assignment_delete ON principal_assignment;",
                "CREATE POLICY principal_assignment_delete ON principal_assignment FOR DELETE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin');",
                'REVOKE ALL ON principal_assignment FROM "{runtime_role}";',
                'GRANT SELECT, INSERT, UPDATE, DELETE ON principal_assignment TO "{runtime_role}";',
            ],
            reverse_sql=[
                "DROP POLICY IF EXISTS principal_assignment_select ON principal_assignment;",
                "DROP POLICY IF EXISTS principal_assignment_insert ON principal_assignment;",
                "DROP POLICY IF EXISTS principal_assignment_update ON principal_assignment;",
                "DROP POLICY IF EXISTS principal_assignment_delete ON principal_assignment;",
                "ALTER TABLE principal_assignment NO FORCE ROW LEVEL SECURITY;",
                "ALTER TABLE principal_assignment DISABLE ROW LEVEL SECURITY;",
                'REVOKE ALL ON principal_assignment FROM "{runtime_role}";',
            ],
        ),
    ]
