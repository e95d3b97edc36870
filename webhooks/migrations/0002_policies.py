"""Row level security of webhook_endpoint, webhook_delivery as declared in webhooks/policies.py
(written by `manage.py makepolicymigration`: the literal SQL, frozen)."""

from django.db import migrations

from crm.migration_operations import RunPolicySQL


class Migration(migrations.Migration):
    # The policies call crm_context_ok() (crm 0012); the worker's reads follow crm 0026's feed.
    dependencies = [("webhooks", "0001_initial"), ("crm", "0026_history_feed_position")]

    operations = [
        RunPolicySQL(
            sql=[
                "ALTER TABLE webhook_endpoint ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE webhook_endpoint FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS webhook_endpoint_select ON webhook_endpoint;",
                "CREATE POLICY webhook_endpoint_select ON webhook_endpoint FOR SELECT USING ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin'));",
                "DROP POLICY IF EXISTS webhook_endpoint_insert ON webhook_endpoint;",
                "CREATE POLICY webhook_endpoint_insert ON webhook_endpoint FOR INSERT WITH CHECK ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin'));",
                "DROP POLICY IF EXISTS webhook_endpoint_update ON webhook_endpoint;",
                "CREATE POLICY webhook_endpoint_update ON webhook_endpoint FOR UPDATE USING ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin')) WITH CHECK ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin'));",
                "DROP POLICY IF EXISTS webhook_endpoint_delete ON webhook_endpoint;",
                "CREATE POLICY webhook_endpoint_delete ON webhook_endpoint FOR DELETE USING ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin'));",
                "DROP POLICY IF EXISTS webhook_endpoint_worker_select ON webhook_endpoint;",
                "CREATE POLICY webhook_endpoint_worker_select ON webhook_endpoint FOR SELECT TO CURRENT_USER USING (true);",
                "DROP POLICY IF EXISTS webhook_endpoint_worker_insert ON webhook_endpoint;",
                "CREATE POLICY webhook_endpoint_worker_insert ON webhook_endpoint FOR INSERT TO CURRENT_USER WITH CHECK (true);",
                "DROP POLICY IF EXISTS webhook_endpoint_worker_update ON webhook_endpoint;",
                "CREATE POLICY webhook_endpoint_worker_update ON webhook_endpoint FOR UPDATE TO CURRENT_USER USING (true) WITH CHECK (true);",
                'GRANT DELETE, INSERT, SELECT, UPDATE ON webhook_endpoint TO "{runtime_role}";',
                "ALTER TABLE webhook_delivery ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE webhook_delivery FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS webhook_delivery_select ON webhook_delivery;",
                "CREATE POLICY webhook_delivery_select ON webhook_delivery FOR SELECT USING ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin'));",
                "DROP POLICY IF EXISTS webhook_delivery_insert ON webhook_delivery;",
                "CREATE POLICY webhook_delivery_insert ON webhook_delivery FOR INSERT WITH CHECK ((SELECT crm_context_ok()) AND (false));",
                "DROP POLICY IF EXISTS webhook_delivery_update ON webhook_delivery;",
                "CREATE POLICY webhook_delivery_update ON webhook_delivery FOR UPDATE USING ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin')) WITH CHECK ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin'));",
                "DROP POLICY IF EXISTS webhook_delivery_delete ON webhook_delivery;",
                "CREATE POLICY webhook_delivery_delete ON webhook_delivery FOR DELETE USING ((SELECT crm_context_ok()) AND (false));",
                "DROP POLICY IF EXISTS webhook_delivery_worker_select ON webhook_delivery;",
                "CREATE POLICY webhook_delivery_worker_select ON webhook_delivery FOR SELECT TO CURRENT_USER USING (true);",
                "DROP POLICY IF EXISTS webhook_delivery_worker_insert ON webhook_delivery;",
                "CREATE POLICY webhook_delivery_worker_insert ON webhook_delivery FOR INSERT TO CURRENT_USER WITH CHECK (true);",
                "DROP POLICY IF EXISTS webhook_delivery_worker_update ON webhook_delivery;",
                "CREATE POLICY webhook_delivery_worker_update ON webhook_delivery FOR UPDATE TO CURRENT_USER USING (true) WITH CHECK (true);",
                'GRANT SELECT, UPDATE ON webhook_delivery TO "{runtime_role}";',
            ],
            reverse_sql=[
                "DROP POLICY IF EXISTS webhook_endpoint_select ON webhook_endpoint;",
                "DROP POLICY IF EXISTS webhook_endpoint_insert ON webhook_endpoint;",
                "DROP POLICY IF EXISTS webhook_endpoint_update ON webhook_endpoint;",
                "DROP POLICY IF EXISTS webhook_endpoint_delete ON webhook_endpoint;",
                "DROP POLICY IF EXISTS webhook_endpoint_worker_select ON webhook_endpoint;",
                "DROP POLICY IF EXISTS webhook_endpoint_worker_insert ON webhook_endpoint;",
                "DROP POLICY IF EXISTS webhook_endpoint_worker_update ON webhook_endpoint;",
                'REVOKE DELETE, INSERT, SELECT, UPDATE ON webhook_endpoint FROM "{runtime_role}";',
                "ALTER TABLE webhook_endpoint NO FORCE ROW LEVEL SECURITY;",
                "ALTER TABLE webhook_endpoint DISABLE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS webhook_delivery_select ON webhook_delivery;",
                "DROP POLICY IF EXISTS webhook_delivery_insert ON webhook_delivery;",
                "DROP POLICY IF EXISTS webhook_delivery_update ON webhook_delivery;",
                "DROP POLICY IF EXISTS webhook_delivery_delete ON webhook_delivery;",
                "DROP POLICY IF EXISTS webhook_delivery_worker_select ON webhook_delivery;",
                "DROP POLICY IF EXISTS webhook_delivery_worker_insert ON webhook_delivery;",
                "DROP POLICY IF EXISTS webhook_delivery_worker_update ON webhook_delivery;",
                'REVOKE SELECT, UPDATE ON webhook_delivery FROM "{runtime_role}";',
                "ALTER TABLE webhook_delivery NO FORCE ROW LEVEL SECURITY;",
                "ALTER TABLE webhook_delivery DISABLE ROW LEVEL SECURITY;",
            ],
        ),
    ]
