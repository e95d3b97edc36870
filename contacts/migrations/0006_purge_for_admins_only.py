"""Hard DELETE (a purge) is for admins only: rows are soft-deleted through UPDATE. Reversing restores the
DELETE policy the row level security migration created, for every writer (frozen literal SQL)."""

from django.db import migrations

from crm.migration_operations import RunPolicySQL


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0005_history_version_soft_delete"),
        ("crm", "0005_history_writer_only_from_triggers"),
    ]

    operations = [
        RunPolicySQL(
            sql=[
                "ALTER TABLE contact ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE contact FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS contact_select ON contact;",
                "CREATE POLICY contact_select ON contact FOR SELECT USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR (scope_principal_id IS NULL AND (SELECT current_setting('crm.role', true)) <> 'viewer')));",
                "DROP POLICY IF EXISTS contact_insert ON contact;",
                "CREATE POLICY contact_insert ON contact FOR INSERT WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL));",
                "DROP POLICY IF EXISTS contact_update ON contact;",
                "CREATE POLICY contact_update ON contact FOR UPDATE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL)) WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL));",
                "DROP POLICY IF EXISTS contact_delete ON contact;",
                "CREATE POLICY contact_delete ON contact FOR DELETE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin');",
                'REVOKE ALL ON contact FROM "{runtime_role}";',
                'GRANT SELECT, INSERT, UPDATE, DELETE ON contact TO "{runtime_role}";',
            ],
            reverse_sql=[
                "ALTER TABLE contact ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE contact FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS contact_select ON contact;",
                "CREATE POLICY contact_select ON contact FOR SELECT USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR (scope_principal_id IS NULL AND (SELECT current_setting('crm.role', true)) <> 'viewer')));",
                "DROP POLICY IF EXISTS contact_insert ON contact;",
                "CREATE POLICY contact_insert ON contact FOR INSERT WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL));",
                "DROP POLICY IF EXISTS contact_update ON contact;",
                "CREATE POLICY contact_update ON contact FOR UPDATE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL)) WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL));",
                "DROP POLICY IF EXISTS contact_delete ON contact;",
                "CREATE POLICY contact_delete ON contact FOR DELETE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL));",
                'REVOKE ALL ON contact FROM "{runtime_role}";',
                'GRANT SELECT, INSERT, UPDATE, DELETE ON contact TO "{runtime_role}";',
            ],
        ),
    ]
