"""Row level security of import_run as declared in imports/policies.py
(written by `manage.py makepolicymigration`: the literal SQL, frozen)."""

from django.db import migrations

from crm.migration_operations import RunPolicySQL


class Migration(migrations.Migration):
    dependencies = [("imports", "0001_initial"), ("crm", "0025_job_queue")]

    operations = [
        RunPolicySQL(
            sql=[
                "ALTER TABLE import_run ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE import_run FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS import_run_select ON import_run;",
                "CREATE POLICY import_run_select ON import_run FOR SELECT USING ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND ((SELECT current_setting('crm.role', true)) = 'admin' OR created_by_id = (SELECT nullif(current_setting('crm.user_id', true), '')::bigint))));",
                "DROP POLICY IF EXISTS import_run_insert ON import_run;",
                "CREATE POLICY import_run_insert ON import_run FOR INSERT WITH CHECK ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND created_by_id = (SELECT nullif(current_setting('crm.user_id', true), '')::bigint)));",
                "DROP POLICY IF EXISTS import_run_update ON import_run;",
                "CREATE POLICY import_run_update ON import_run FOR UPDATE USING ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND created_by_id = (SELECT nullif(current_setting('crm.user_id', true), '')::bigint))) WITH CHECK ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND created_by_id = (SELECT nullif(current_setting('crm.user_id', true), '')::bigint)));",
                "DROP POLICY IF EXISTS import_run_delete ON import_run;",
                "CREATE POLICY import_run_delete ON import_run FOR DELETE USING ((SELECT crm_context_ok()) AND (false));",
                'GRANT INSERT, SELECT, UPDATE ON import_run TO "{runtime_role}";',
            ],
            reverse_sql=[
                "DROP POLICY IF EXISTS import_run_select ON import_run;",
                "DROP POLICY IF EXISTS import_run_insert ON import_run;",
                "DROP POLICY IF EXISTS import_run_update ON import_run;",
                "DROP POLICY IF EXISTS import_run_delete ON import_run;",
                'REVOKE INSERT, SELECT, UPDATE ON import_run FROM "{runtime_role}";',
                "ALTER TABLE import_run NO FORCE ROW LEVEL SECURITY;",
                "ALTER TABLE import_run DISABLE ROW LEVEL SECURITY;",
            ],
        ),
    ]
