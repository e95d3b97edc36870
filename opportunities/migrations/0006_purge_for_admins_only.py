"""Hard DELETE (a purge) is for admins only: rows are soft-deleted through UPDATE. Reversing restores the
DELETE policy the row level security migration created, for every writer (frozen literal SQL)."""

from django.db import migrations

from crm.migration_operations import RunPolicySQL


class Migration(migrations.Migration):
    dependencies = [
        ("opportunities", "0005_history_version_soft_delete"),
        ("crm", "0005_history_writer_only_from_triggers"),
    ]

    operations = [
        RunPolicySQL(
            sql=[
                "ALTER TABLE opportunity ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE opportunity FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS opportunity_select ON opportunity;",
                "CREATE POLICY opportunity_select ON opportunity FOR SELECT USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR (principal_id IS NULL AND (SELECT current_setting('crm.role', true)) <> 'viewer')));",
                "DROP POLICY IF EXISTS opportunity_insert ON opportunity;",
                "CREATE POLICY opportunity_insert ON opportunity FOR INSERT WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR principal_id IS NULL));",
                "DROP POLICY IF EXISTS opportunity_update ON opportunity;",
                "CREATE POLICY opportunity_update ON opportunity FOR UPDATE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR principal_id IS NULL)) WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR principal_id IS NULL));",
                "DROP POLICY IF EXISTS opportunity_delete ON opportunity;",
                "CREATE POLICY opportunity_delete ON opportunity FOR DELETE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin');",
                'REVOKE ALL ON opportunity FROM "{runtime_role}";',
                'GRANT SELECT, INSERT, UPDATE, DELETE ON opportunity TO "{runtime_role}";',
            ],
            reverse_sql=[
                "ALTER TABLE opportunity ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE opportunity FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS opportunity_select ON opportunity;",
                "CREATE POLICY opportunity_select ON opportunity FOR SELECT USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR (principal_id IS NULL AND (SELECT current_setting('crm.role', true)) <> 'viewer')));",
                "DROP POLICY IF EXISTS opportunity_insert ON opportunity;",
                "CREATE POLICY opportunity_insert ON opportunity FOR INSERT WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR principal_id IS NULL));",
                "DROP POLICY IF EXISTS opportunity_update ON opportunity;",
                "CREATE POLICY opportunity_update ON opportunity FOR UPDATE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR principal_id IS NULL)) WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR principal_id IS NULL));",
                "DROP POLICY IF EXISTS opportunity_delete ON opportunity;",
                "CREATE POLICY opportunity_delete ON opportunity FOR DELETE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR principal_id IS NULL));",
                'REVOKE ALL ON opportunity FROM "{runtime_role}";',
                'GRANT SELECT, INSERT, UPDATE, DELETE ON opportunity TO "{runtime_role}";',
            ],
        ),
        RunPolicySQL(
            sql=[
                "ALTER TABLE opportunity_product ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE opportunity_product FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS opportunity_product_select ON opportunity_product;",
                "CREATE POLICY opportunity_product_select ON opportunity_product FOR SELECT USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR (scope_principal_id IS NULL AND (SELECT current_setting('crm.role', true)) <> 'viewer')));",
                "DROP POLICY IF EXISTS opportunity_product_insert ON opportunity_product;",
                "CREATE POLICY opportunity_product_insert ON opportunity_product FOR INSERT WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL));",
                "DROP POLICY IF EXISTS opportunity_product_update ON opportunity_product;",
                "CREATE POLICY opportunity_product_update ON opportunity_product FOR UPDATE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL)) WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL));",
                "DROP POLICY IF EXISTS opportunity_product_delete ON opportunity_product;",
                "CREATE POLICY opportunity_product_delete ON opportunity_product FOR DELETE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin');",
                'REVOKE ALL ON opportunity_product FROM "{runtime_role}";',
                'GRANT SELECT, INSERT, UPDATE, DELETE ON opportunity_product TO "{runtime_role}";',
            ],
            reverse_sql=[
                "ALTER TABLE opportunity_product ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE opportunity_product FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS opportunity_product_select ON opportunity_product;",
                "CREATE POLICY opportunity_product_select ON opportunity_product FOR SELECT USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR (scope_principal_id IS NULL AND (SELECT current_setting('crm.role', true)) <> 'viewer')));",
                "DROP POLICY IF EXISTS opportunity_product_insert ON opportunity_product;",
                "CREATE POLICY opportunity_product_insert ON opportunity_product FOR INSERT WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL));",
                "DROP POLICY IF EXISTS opportunity_product_update ON opportunity_product;",
                "CREATE POLICY opportunity_product_update ON opportunity_product FOR UPDATE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL)) WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL));",
                "DROP POLICY IF EXISTS opportunity_product_delete ON opportunity_product;",
                "CREATE POLICY opportunity_product_delete ON opportunity_product FOR DELETE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL));",
                'REVOKE ALL ON opportunity_product FROM "{runtime_role}";',
                'GRANT SELECT, INSERT, UPDATE, DELETE ON opportunity_product TO "{runtime_role}";',
            ],
        ),
        RunPolicySQL(
            sql=[
                "ALTER TABLE opportunity_contact ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE opportunity_contact FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS opportunity_contact_select ON opportunity_contact;",
                "CREATE POLICY opportunity_contact_select ON opportunity_contact FOR SELECT USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR (scope_principal_id IS NULL AND (SELECT current_setting('crm.role', true)) <> 'viewer')));",
                "DROP POLICY IF EXISTS opportunity_contact_insert ON opportunity_contact;",
                "CREATE POLICY opportunity_contact_insert ON opportunity_contact FOR INSERT WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL));",
                "DROP POLICY IF EXISTS opportunity_contact_update ON opportunity_contact;",
                "CREATE POLICY opportunity_contact_update ON opportunity_contact FOR UPDATE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL)) WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL));",
                "DROP POLICY IF EXISTS opportunity_contact_delete ON opportunity_contact;",
                "CREATE POLICY opportunity_contact_delete ON opportunity_contact FOR DELETE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin');",
                'REVOKE ALL ON opportunity_contact FROM "{runtime_role}";',
                'GRANT SELECT, INSERT, UPDATE, DELETE ON opportunity_contact TO "{runtime_role}";',
            ],
            reverse_sql=[
                "ALTER TABLE opportunity_contact ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE opportunity_contact FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS opportunity_contact_select ON opportunity_contact;",
                "CREATE POLICY opportunity_contact_select ON opportunity_contact FOR SELECT USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR (scope_principal_id IS NULL AND (SELECT current_setting('crm.role', true)) <> 'viewer')));",
                "DROP POLICY IF EXISTS opportunity_contact_insert ON opportunity_contact;",
                "CREATE POLICY opportunity_contact_insert ON opportunity_contact FOR INSERT WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL));",
                "DROP POLICY IF EXISTS opportunity_contact_update ON opportunity_contact;",
                "CREATE POLICY opportunity_contact_update ON opportunity_contact FOR UPDATE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL)) WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL));",
                "DROP POLICY IF EXISTS opportunity_contact_delete ON opportunity_contact;",
                "CREATE POLICY opportunity_contact_delete ON opportunity_contact FOR DELETE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager') AND ((SELECT current_setting('crm.role', true)) = 'admin' OR scope_principal_id = ANY ((SELECT nullif(current_setting('crm.book', true), '')::bigint[])::bigint[]) OR scope_principal_id IS NULL));",
                'REVOKE ALL ON opportunity_contact FROM "{runtime_role}";',
                'GRANT SELECT, INSERT, UPDATE, DELETE ON opportunity_contact TO "{runtime_role}";',
            ],
        ),
    ]
