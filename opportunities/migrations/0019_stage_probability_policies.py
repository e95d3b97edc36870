"""Row level security of stage_probability as declared in opportunities/policies.py
(written by `manage.py makepolicymigration`: the literal SQL, frozen)."""

from django.db import migrations

from crm.migration_operations import RunPolicySQL


class Migration(migrations.Migration):
    dependencies = [("opportunities", "0018_stage_probability")]

    operations = [
        RunPolicySQL(
            sql=[
                "ALTER TABLE stage_probability ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE stage_probability FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS stage_probability_select ON stage_probability;",
                "CREATE POLICY stage_probability_select ON stage_probability FOR SELECT USING ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint)));",
                "DROP POLICY IF EXISTS stage_probability_insert ON stage_probability;",
                "CREATE POLICY stage_probability_insert ON stage_probability FOR INSERT WITH CHECK ((SELECT crm_context_ok()) AND (false));",
                "DROP POLICY IF EXISTS stage_probability_update ON stage_probability;",
                "CREATE POLICY stage_probability_update ON stage_probability FOR UPDATE USING ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin')) WITH CHECK ((SELECT crm_context_ok()) AND (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin'));",
                "DROP POLICY IF EXISTS stage_probability_delete ON stage_probability;",
                "CREATE POLICY stage_probability_delete ON stage_probability FOR DELETE USING ((SELECT crm_context_ok()) AND (false));",
                "DROP POLICY IF EXISTS stage_probability_owner_select ON stage_probability;",
                "CREATE POLICY stage_probability_owner_select ON stage_probability FOR SELECT TO CURRENT_USER USING (true);",
                "DROP POLICY IF EXISTS stage_probability_owner_insert ON stage_probability;",
                "CREATE POLICY stage_probability_owner_insert ON stage_probability FOR INSERT TO CURRENT_USER WITH CHECK (true);",
                'GRANT SELECT, UPDATE ON stage_probability TO "{runtime_role}";',
            ],
            reverse_sql=[
                "DROP POLICY IF EXISTS stage_probability_select ON stage_probability;",
                "DROP POLICY IF EXISTS stage_probability_insert ON stage_probability;",
                "DROP POLICY IF EXISTS stage_probability_update ON stage_probability;",
                "DROP POLICY IF EXISTS stage_probability_delete ON stage_probability;",
                "DROP POLICY IF EXISTS stage_probability_owner_select ON stage_probability;",
                "DROP POLICY IF EXISTS stage_probability_owner_insert ON stage_probability;",
                'REVOKE SELECT, UPDATE ON stage_probability FROM "{runtime_role}";',
                "ALTER TABLE stage_probability NO FORCE ROW LEVEL SECURITY;",
                "ALTER TABLE stage_probability DISABLE ROW LEVEL SECURITY;",
            ],
        ),
    ]
