"""Row level security of sample, sample_line as declared in samples/policies.py
(written by `manage.py makepolicymigration`: the literal SQL, frozen)."""

from django.db import migrations

from crm.migration_operations import RunPolicySQL


class Migration(migrations.Migration):
    dependencies = [("samples", "0003_foreign_keys_in_firm_validated")]

    operations = [
        RunPolicySQL(
            sql=[
                "ALTER TABLE sample ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE sample FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS sample_select ON sample;",
                "CREATE POLICY sample_select ON sample FOR SELECT USING ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR (scope_principal_id IS NULL AND (SELECT current_setting('crm.role', true)) <> 'viewer'))));",
                "DROP POLICY IF EXISTS sample_insert ON sample;",
                "CREATE POLICY sample_insert ON sample FOR INSERT WITH CHECK ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL)));",
                "DROP POLICY IF EXISTS sample_update ON sample;",
                "CREATE POLICY sample_update ON sample FOR UPDATE USING ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL))) WITH CHECK ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL)));",
                "DROP POLICY IF EXISTS sample_delete ON sample;",
                "CREATE POLICY sample_delete ON sample FOR DELETE USING ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin'));",
                'GRANT DELETE, INSERT, SELECT, UPDATE ON sample TO "{runtime_role}";',
                "ALTER TABLE sample_line ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE sample_line FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS sample_line_select ON sample_line;",
                "CREATE POLICY sample_line_select ON sample_line FOR SELECT USING ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR (scope_principal_id IS NULL AND (SELECT current_setting('crm.role', true)) <> 'viewer'))));",
                "DROP POLICY IF EXISTS sample_line_insert ON sample_line;",
                "CREATE POLICY sample_line_insert ON sample_line FOR INSERT WITH CHECK ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL)));",
                "DROP POLICY IF EXISTS sample_line_update ON sample_line;",
                "CREATE POLICY sample_line_update ON sample_line FOR UPDATE USING ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL))) WITH CHECK ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL)));",
                "DROP POLICY IF EXISTS sample_line_delete ON sample_line;",
                "CREATE POLICY sample_line_delete ON sample_line FOR DELETE USING ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin'));",
                'GRANT DELETE, INSERT, SELECT, UPDATE ON sample_line TO "{runtime_role}";',
            ],
            reverse_sql=[
                "DROP POLICY IF EXISTS sample_select ON sample;",
                "DROP POLICY IF EXISTS sample_insert ON sample;",
                "DROP POLICY IF EXISTS sample_update ON sample;",
                "DROP POLICY IF EXISTS sample_delete ON sample;",
                'REVOKE DELETE, INSERT, SELECT, UPDATE ON sample FROM "{runtime_role}";',
                "ALTER TABLE sample NO FORCE ROW LEVEL SECURITY;",
                "ALTER TABLE sample DISABLE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS sample_line_select ON sample_line;",
                "DROP POLICY IF EXISTS sample_line_insert ON sample_line;",
                "DROP POLICY IF EXISTS sample_line_update ON sample_line;",
                "DROP POLICY IF EXISTS sample_line_delete ON sample_line;",
                'REVOKE DELETE, INSERT, SELECT, UPDATE ON sample_line FROM "{runtime_role}";',
                "ALTER TABLE sample_line NO FORCE ROW LEVEL SECURITY;",
                "ALTER TABLE sample_line DISABLE ROW LEVEL SECURITY;",
            ],
        ),
    ]
