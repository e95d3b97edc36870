"""The runtime role, the request-context functions, and row level security on tenancy tables."""

from django.db import migrations

from crm.migration_operations import CreateRuntimeRole, RunPolicySQL

REQUEST_CONTEXT = """
CREATE OR REPLACE FUNCTION crm_request_context(p_user_id bigint)
RETURNS TABLE (tenant_id bigint, role text, book bigint[])
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    m record;
    v_book bigint[];
BEGIN
    -- Transaction-local, so nothing outlives the request's transaction. Cleared first: fail closed.
    PERFORM set_config('crm.tenant_id', '', true), set_config('crm.role', '', true),
            set_config('crm.book', '', true), set_config('crm.user_id', coalesce(p_user_id::text, ''), true);
    IF p_user_id IS NOT NULL THEN
        SELECT ms.tenant_id, ms.role INTO m
          FROM membership ms JOIN crm_user u ON u.id = ms.user_id
         WHERE ms.user_id = p_user_id AND u.is_active;
        IF FOUND THEN
            PERFORM set_config('crm.tenant_id', m.tenant_id::text, true), set_config('crm.role', m.role, true);
            IF m.role <> 'admin' THEN
                -- An admin's book is every principal: policies test the role, not the book.
                SELECT coalesce(array_agg(pa.principal_id ORDER BY pa.principal_id), '{}') INTO v_book
                  FROM principal_assignment pa
                 WHERE pa.user_id = p_user_id AND pa.tenant_id = m.tenant_id AND pa.deleted_at IS NULL;
                PERFORM set_config('crm.book', v_book::text, true);
            END IF;
            RETURN QUERY SELECT m.tenant_id, m.role::text, v_book;
            RETURN;
        END IF;
        PERFORM set_config('crm.user_id', '', true);
    END IF;
    RETURN QUERY SELECT NULL::bigint, NULL::text, NULL::bigint[];
END;
$$;
REVOKE ALL ON FUNCTION crm_request_context(bigint) FROM PUBLIC;
"""

IS_MEMBER = """
CREATE OR REPLACE FUNCTION crm_is_member(p_user_id bigint, p_tenant_id bigint)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT EXISTS (
        SELECT 1 FROM membership ms JOIN crm_user u ON u.id = ms.user_id
         WHERE ms.user_id = p_user_id AND ms.tenant_id = p_tenant_id AND u.is_active
    );
$$;
REVOKE ALL ON FUNCTION crm_is_member(bigint, bigint) FROM PUBLIC;
"""


def grant_functions(apps, schema_editor):
    from crm.rls import runtime_role

    role = runtime_role()
    schema_editor.execute(f'GRANT EXECUTE ON FUNCTION crm_request_context(bigint) TO "{role}";')
    schema_editor.execute(f'GRANT EXECUTE ON FUNCTION crm_is_member(bigint, bigint) TO "{role}";')


def revoke_functions(apps, schema_editor):
    from crm.rls import runtime_role

    role = runtime_role()
    schema_editor.execute(f'REVOKE EXECUTE ON FUNCTION crm_request_context(bigint) FROM "{role}";')
    schema_editor.execute(f'REVOKE EXECUTE ON FUNCTION crm_is_member(bigint, bigint) FROM "{role}";')


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0001_initial"),
        ("organizations", "0001_initial"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("sessions", "0001_initial"),
    ]

    operations = [
        CreateRuntimeRole(),
        migrations.RunSQL(
            REQUEST_CONTEXT,
            "DROP FUNCTION IF EXISTS crm_request_context(bigint);",
        ),
        migrations.RunSQL(IS_MEMBER, "DROP FUNCTION IF EXISTS crm_is_member(bigint, bigint);"),
        migrations.RunPython(grant_functions, revoke_functions),
        # Tenancy: members read their own firm; admins rename it. Firms are created by the owner
        # (create_tenant), never through the API.
        RunPolicySQL(
            sql=[
                "ALTER TABLE tenant ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE tenant FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS tenant_select ON tenant;",
                "CREATE POLICY tenant_select ON tenant FOR SELECT USING (id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint));",
                "DROP POLICY IF EXISTS tenant_insert ON tenant;",
                "CREATE POLICY tenant_insert ON tenant FOR INSERT WITH CHECK (false);",
                "DROP POLICY IF EXISTS tenant_update ON tenant;",
                "CREATE POLICY tenant_update ON tenant FOR UPDATE USING (id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin') WITH CHECK (id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin');",
                "DROP POLICY IF EXISTS tenant_delete ON tenant;",
                "CREATE POLICY tenant_delete ON tenant FOR DELETE USING (false);",
                'REVOKE ALL ON tenant FROM "{runtime_role}";',
                'GRANT SELECT, UPDATE ON tenant TO "{runtime_role}";',
            ],
            reverse_sql=[
                "DROP POLICY IF EXISTS tenant_select ON tenant;",
                "DROP POLICY IF EXISTS tenant_insert ON tenant;",
                "DROP POLICY IF EXISTS tenant_update ON tenant;",
                "DROP POLICY IF EXISTS tenant_delete ON tenant;",
                "ALTER TABLE tenant NO FORCE ROW LEVEL SECURITY;",
                "ALTER TABLE tenant DISABLE ROW LEVEL SECURITY;",
                'REVOKE ALL ON tenant FROM "{runtime_role}";',
            ],
        ),
        # Members: everyone reads their own membership; admins manage their firm's.
        RunPolicySQL(
            sql=[
                "ALTER TABLE membership ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE membership FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS membership_select ON membership;",
                "CREATE POLICY membership_select ON membership FOR SELECT USING (user_id = (SELECT nullif(current_setting('crm.user_id', true), '')::bigint) OR (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin'));",
                "DROP POLICY IF EXISTS membership_insert ON membership;",
                "CREATE POLICY membership_insert ON membership FOR INSERT WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin');",
                "DROP POLICY IF EXISTS membership_update ON membership;",
                "CREATE POLICY membership_update ON membership FOR UPDATE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin') WITH CHECK (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin');",
                "DROP POLICY IF EXISTS membership_delete ON membership;",
                "CREATE POLICY membership_delete ON membership FOR DELETE USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) = 'admin' AND user_id <> (SELECT nullif(current_setting('crm.user_id', true), '')::bigint));",
                'REVOKE ALL ON membership FROM "{runtime_role}";',
                'GRANT SELECT, INSERT, UPDATE, DELETE ON membership TO "{runtime_role}";',
            ],
            reverse_sql=[
                "DROP POLICY IF EXISTS membership_select ON membership;",
                "DROP POLICY IF EXISTS membership_insert ON membership;",
                "DROP POLICY IF EXISTS membership_update ON membership;",
                "DROP POLICY IF EXISTS membership_delete ON membership;",
                "ALTER TABLE membership NO FORCE ROW LEVEL SECURITY;",
                "ALTER TABLE membership DISABLE ROW LEVEL SECURITY;",
                'REVOKE ALL ON membership FROM "{runtime_role}";',
            ],
        ),
        # The owner runs crm_is_member as definer; under FORCE it needs a policy too, limited to the
        # current tenant (the runtime role is not a member of the owner, so this does not widen its view).
        migrations.RunSQL(
            "DROP POLICY IF EXISTS membership_definer_select ON membership;"
            "CREATE POLICY membership_definer_select ON membership FOR SELECT TO CURRENT_USER"
            " USING (tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint));",
            "DROP POLICY IF EXISTS membership_definer_select ON membership;",
        ),
        # The admin's log holds object names (tenant data): each user sees and writes only their own.
        RunPolicySQL(
            sql=[
                "ALTER TABLE django_admin_log ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE django_admin_log FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS django_admin_log_select ON django_admin_log;",
                "CREATE POLICY django_admin_log_select ON django_admin_log FOR SELECT USING (user_id = (SELECT nullif(current_setting('crm.user_id', true), '')::bigint));",
                "DROP POLICY IF EXISTS django_admin_log_insert ON django_admin_log;",
                "CREATE POLICY django_admin_log_insert ON django_admin_log FOR INSERT WITH CHECK (user_id = (SELECT nullif(current_setting('crm.user_id', true), '')::bigint));",
                "DROP POLICY IF EXISTS django_admin_log_update ON django_admin_log;",
                "CREATE POLICY django_admin_log_update ON django_admin_log FOR UPDATE USING (false) WITH CHECK (false);",
                "DROP POLICY IF EXISTS django_admin_log_delete ON django_admin_log;",
                "CREATE POLICY django_admin_log_delete ON django_admin_log FOR DELETE USING (false);",
                'REVOKE ALL ON django_admin_log FROM "{runtime_role}";',
                'GRANT SELECT, INSERT ON django_admin_log TO "{runtime_role}";',
            ],
            reverse_sql=[
                "DROP POLICY IF EXISTS django_admin_log_select ON django_admin_log;",
                "DROP POLICY IF EXISTS django_admin_log_insert ON django_admin_log;",
                "DROP POLICY IF EXISTS django_admin_log_update ON django_admin_log;",
                "DROP POLICY IF EXISTS django_admin_log_delete ON django_admin_log;",
                "ALTER TABLE django_admin_log NO FORCE ROW LEVEL SECURITY;",
                "ALTER TABLE django_admin_log DISABLE ROW LEVEL SECURITY;",
                'REVOKE ALL ON django_admin_log FROM "{runtime_role}";',
            ],
        ),
        RunPolicySQL(
            sql=[
                'REVOKE ALL ON crm_user FROM "{runtime_role}";',
                'GRANT SELECT, INSERT, UPDATE ON crm_user TO "{runtime_role}";',
            ],
            reverse_sql=[
                'REVOKE ALL ON crm_user FROM "{runtime_role}";',
            ],
        ),
        RunPolicySQL(
            sql=[
                'REVOKE ALL ON crm_user_groups FROM "{runtime_role}";',
                'GRANT SELECT ON crm_user_groups TO "{runtime_role}";',
            ],
            reverse_sql=[
                'REVOKE ALL ON crm_user_groups FROM "{runtime_role}";',
            ],
        ),
        RunPolicySQL(
            sql=[
                'REVOKE ALL ON crm_user_user_permissions FROM "{runtime_role}";',
                'GRANT SELECT ON crm_user_user_permissions TO "{runtime_role}";',
            ],
            reverse_sql=[
                'REVOKE ALL ON crm_user_user_permissions FROM "{runtime_role}";',
            ],
        ),
        RunPolicySQL(
            sql=[
                'REVOKE ALL ON django_session FROM "{runtime_role}";',
                'GRANT SELECT, INSERT, UPDATE, DELETE ON django_session TO "{runtime_role}";',
            ],
            reverse_sql=[
                'REVOKE ALL ON django_session FROM "{runtime_role}";',
            ],
        ),
        RunPolicySQL(
            sql=[
                'REVOKE ALL ON django_content_type FROM "{runtime_role}";',
                'GRANT SELECT ON django_content_type TO "{runtime_role}";',
            ],
            reverse_sql=[
                'REVOKE ALL ON django_content_type FROM "{runtime_role}";',
            ],
        ),
        RunPolicySQL(
            sql=[
                'REVOKE ALL ON auth_permission FROM "{runtime_role}";',
                'GRANT SELECT ON auth_permission TO "{runtime_role}";',
            ],
            reverse_sql=[
                'REVOKE ALL ON auth_permission FROM "{runtime_role}";',
            ],
        ),
        RunPolicySQL(
            sql=[
                'REVOKE ALL ON auth_group FROM "{runtime_role}";',
                'GRANT SELECT ON auth_group TO "{runtime_role}";',
            ],
            reverse_sql=[
                'REVOKE ALL ON auth_group FROM "{runtime_role}";',
            ],
        ),
        RunPolicySQL(
            sql=[
                'REVOKE ALL ON auth_group_permissions FROM "{runtime_role}";',
                'GRANT SELECT ON auth_group_permissions TO "{runtime_role}";',
            ],
            reverse_sql=[
                'REVOKE ALL ON auth_group_permissions FROM "{runtime_role}";',
            ],
        ),
        RunPolicySQL(
            sql=[
                'REVOKE ALL ON django_migrations FROM "{runtime_role}";',
                'GRANT SELECT ON django_migrations TO "{runtime_role}";',
            ],
            reverse_sql=[
                'REVOKE ALL ON django_migrations FROM "{runtime_role}";',
            ],
        ),
    ]
