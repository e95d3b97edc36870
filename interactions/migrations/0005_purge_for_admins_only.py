"""Hard DELETE (a purge) is for admins only: rows are soft-deleted through UPDATE. Reversing restores the
DELETE policy the row level security migration created, for every writer (frozen literal SQL)."""

from django.db import migrations

from crm.migration_operations import RunPolicySQL


class Migration(migrations.Migration):
    dependencies = [
        ("interactions", "0004_history_version_soft_delete"),
        ("crm", "0005_history_writer_only_from_triggers"),
    ]

    operations = [
        RunPolicySQL(
            sql=[
                "ALTER TABLE interaction ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE interaction FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS interaction_select ON interaction;",
                "CREATE POLICY interaction_select ON interaction FOR SELECT USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR (principal_id IS NULL AND (SELECT current_setting('crm.role', true)) <> 'viewer')));",
                "DROP POLICY IF EXISTS interaction_insert ON interaction;",
                "CREATE POLICY interaction_insert ON interaction FOR INSERT WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR principal_id IS NULL));",
                "DROP POLICY IF EXISTS interaction_update ON interaction;",
                "CREATE POLICY interaction_update ON interaction FOR UPDATE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR principal_id IS NULL)) WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR principal_id IS NULL));",
                "DROP POLICY IF EXISTS interaction_delete ON interaction;",
                "CREATE POLICY interaction_delete ON interaction FOR DELETE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin');",
                'REVOKE ALL ON interaction FROM "{runtime_role}";',
                'GRANT SELECT, INSERT, UPDATE, DELETE ON interaction TO "{runtime_role}";',
            ],
            reverse_sql=[
                "ALTER TABLE interaction ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE interaction FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS interaction_select ON interaction;",
                "CREATE POLICY interaction_select ON interaction FOR SELECT USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR (principal_id IS NULL AND (SELECT current_setting('crm.role', true)) <> 'viewer')));",
                "DROP POLICY IF EXISTS interaction_insert ON interaction;",
                "CREATE POLICY interaction_insert ON interaction FOR INSERT WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR principal_id IS NULL));",
                "DROP POLICY IF EXISTS interaction_update ON interaction;",
                "CREATE POLICY interaction_update ON interaction FOR UPDATE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR principal_id IS NULL)) WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR principal_id IS NULL));",
                "DROP POLICY IF EXISTS interaction_delete ON interaction;",
                "CREATE POLICY interaction_delete ON interaction FOR DELETE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR principal_id IS NULL));",
                'REVOKE ALL ON interaction FROM "{runtime_role}";',
                'GRANT SELECT, INSERT, UPDATE, DELETE ON interaction TO "{runtime_role}";',
            ],
        ),
    ]
