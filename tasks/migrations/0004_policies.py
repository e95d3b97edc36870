"""Row level security of task as declared in tasks/policies.py
(written by `manage.py makepolicymigration`: the literal SQL, frozen)."""

from django.db import migrations

from crm.migration_operations import RunPolicySQL


class Migration(migrations.Migration):
    # The policies call crm_context_ok() (crm 0012).
    dependencies = [
        ("tasks", "0003_foreign_keys_in_firm_validated"),
        ("crm", "0012_unforgeable_request_context"),
    ]

    operations = [
        RunPolicySQL(
            sql=[
                "ALTER TABLE task ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE task FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS task_select ON task;",
                "CREATE POLICY task_select ON task FOR SELECT USING ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR (principal_id IS NULL AND (SELECT current_setting('crm.role', true)) <> 'viewer'))));",
                "DROP POLICY IF EXISTS task_insert ON task;",
                "CREATE POLICY task_insert ON task FOR INSERT WITH CHECK ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR principal_id IS NULL)));",
                "DROP POLICY IF EXISTS task_update ON task;",
                "CREATE POLICY task_update ON task FOR UPDATE USING ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR principal_id IS NULL))) WITH CHECK ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR principal_id IS NULL)));",
                "DROP POLICY IF EXISTS task_delete ON task;",
                "CREATE POLICY task_delete ON task FOR DELETE USING ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin'));",
                'GRANT DELETE, INSERT, SELECT, UPDATE ON task TO "{runtime_role}";',
            ],
            reverse_sql=[
                "DROP POLICY IF EXISTS task_select ON task;",
                "DROP POLICY IF EXISTS task_insert ON task;",
                "DROP POLICY IF EXISTS task_update ON task;",
                "DROP POLICY IF EXISTS task_delete ON task;",
                'REVOKE DELETE, INSERT, SELECT, UPDATE ON task FROM "{runtime_role}";',
                "ALTER TABLE task NO FORCE ROW LEVEL SECURITY;",
                "ALTER TABLE task DISABLE ROW LEVEL SECURITY;",
            ],
        ),
    ]
