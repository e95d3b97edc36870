"""Users and sessions under row level security; the runtime role can no longer assume an identity.

- crm_user: a request sees itself and its firm's members; admins add members through
  crm_create_member() and edit them; the runtime role may update only harmless columns (never
  is_superuser, is_staff or email) and inserts no users itself. Sign-in looks users
  up through crm_auth_user(), a SECURITY DEFINER function, since nobody is known yet at that point.
- django_session: a request reaches only the session whose key its cookie carries (crm.session_key).
- crm_request_context() is called by the middleware before it switches role, so the runtime role
  loses EXECUTE on it: code running as crm_app cannot become another user.
- tenant: firms are renamed by the owner only (names are unique across firms: a rename would tell
  whether another firm has a name).
- django_admin_log: only writers write log entries.
"""

from django.db import migrations

from crm.migration_operations import RunPolicySQL

FUNCTIONS = """
CREATE OR REPLACE FUNCTION crm_member_ids()
RETURNS bigint[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT coalesce(array_agg(user_id), '{}') FROM membership WHERE tenant_id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint);
$$;
REVOKE ALL ON FUNCTION crm_member_ids() FROM PUBLIC;

CREATE OR REPLACE FUNCTION crm_auth_user(p_email text, p_user_id bigint)
RETURNS SETOF crm_user
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT * FROM crm_user
     WHERE (p_email IS NOT NULL AND lower(email) = lower(p_email)) OR (p_user_id IS NOT NULL AND id = p_user_id);
$$;
REVOKE ALL ON FUNCTION crm_auth_user(text, bigint) FROM PUBLIC;

-- A user and their membership, created together by an admin of the current firm (the runtime role
-- cannot insert users: a new user is not yet a member, so it could not even see the row it wrote).
CREATE OR REPLACE FUNCTION crm_create_member(
    p_email text, p_first_name text, p_last_name text, p_password text, p_role text
) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    v_tenant bigint := (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint);
    v_user bigint;
BEGIN
    IF v_tenant IS NULL OR (SELECT current_setting('crm.role', true)) IS DISTINCT FROM 'admin' THEN
        RAISE EXCEPTION 'only an admin of the firm can add members' USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO crm_user (password, email, first_name, last_name, is_active, is_staff, is_superuser, date_joined)
    VALUES (p_password, lower(p_email), p_first_name, p_last_name, true, false, false, now())
    RETURNING id INTO v_user;
    INSERT INTO membership (tenant_id, user_id, role, created_at, updated_at)
    VALUES (v_tenant, v_user, p_role, now(), now());
    RETURN v_user;
END;
$$;
REVOKE ALL ON FUNCTION crm_create_member(text, text, text, text, text) FROM PUBLIC;
"""


def grants(apps, schema_editor):
    from crm.rls import runtime_role

    role = runtime_role()
    schema_editor.execute(f'GRANT EXECUTE ON FUNCTION crm_member_ids() TO "{role}";')
    schema_editor.execute(f'GRANT EXECUTE ON FUNCTION crm_auth_user(text, bigint) TO "{role}";')
    schema_editor.execute(
        f'GRANT EXECUTE ON FUNCTION crm_create_member(text, text, text, text, text) TO "{role}";'
    )
    schema_editor.execute(f'REVOKE EXECUTE ON FUNCTION crm_request_context(bigint) FROM "{role}";')
    schema_editor.execute(
        f'GRANT UPDATE (first_name, last_name, password, is_active, last_login) ON crm_user TO "{role}";'
    )


def revoke(apps, schema_editor):
    from crm.rls import runtime_role

    role = runtime_role()
    schema_editor.execute(f'GRANT EXECUTE ON FUNCTION crm_request_context(bigint) TO "{role}";')
    schema_editor.execute(f'GRANT UPDATE ON crm_user TO "{role}";')


class Migration(migrations.Migration):
    dependencies = [("crm", "0002_row_level_security")]

    operations = [
        migrations.RunSQL(
            FUNCTIONS,
            "DROP FUNCTION IF EXISTS crm_create_member(text, text, text, text, text);"
            " DROP FUNCTION IF EXISTS crm_auth_user(text, bigint); DROP FUNCTION IF EXISTS crm_member_ids();",
        ),
        RunPolicySQL(
            sql=[
                "ALTER TABLE crm_user ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE crm_user NO FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS crm_user_select ON crm_user;",
                "CREATE POLICY crm_user_select ON crm_user FOR SELECT USING (id = (SELECT nullif(current_setting('crm.user_id', true), '')::bigint) OR id = ANY ((SELECT crm_member_ids())::bigint[]));",
                "DROP POLICY IF EXISTS crm_user_insert ON crm_user;",
                "CREATE POLICY crm_user_insert ON crm_user FOR INSERT WITH CHECK (false);",
                "DROP POLICY IF EXISTS crm_user_update ON crm_user;",
                "CREATE POLICY crm_user_update ON crm_user FOR UPDATE USING ((id = (SELECT nullif(current_setting('crm.user_id', true), '')::bigint) OR ((SELECT current_setting('crm.role', true)) = 'admin' AND id = ANY ((SELECT crm_member_ids())::bigint[]))) AND NOT is_superuser) WITH CHECK ((id = (SELECT nullif(current_setting('crm.user_id', true), '')::bigint) OR ((SELECT current_setting('crm.role', true)) = 'admin' AND id = ANY ((SELECT crm_member_ids())::bigint[]))) AND NOT is_superuser);",
                "DROP POLICY IF EXISTS crm_user_delete ON crm_user;",
                "CREATE POLICY crm_user_delete ON crm_user FOR DELETE USING (false);",
                'REVOKE ALL ON crm_user FROM "{runtime_role}";',
                'GRANT SELECT ON crm_user TO "{runtime_role}";',
            ],
            reverse_sql=[
                "DROP POLICY IF EXISTS crm_user_select ON crm_user;",
                "DROP POLICY IF EXISTS crm_user_insert ON crm_user;",
                "DROP POLICY IF EXISTS crm_user_update ON crm_user;",
                "DROP POLICY IF EXISTS crm_user_delete ON crm_user;",
                "ALTER TABLE crm_user NO FORCE ROW LEVEL SECURITY;",
                "ALTER TABLE crm_user DISABLE ROW LEVEL SECURITY;",
                'REVOKE ALL ON crm_user FROM "{runtime_role}";',
                'GRANT SELECT, INSERT, UPDATE ON crm_user TO "{runtime_role}";',
            ],
        ),
        RunPolicySQL(
            sql=[
                "ALTER TABLE django_session ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE django_session NO FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS django_session_select ON django_session;",
                "CREATE POLICY django_session_select ON django_session FOR SELECT USING (session_key = (SELECT current_setting('crm.session_key', true)));",
                "DROP POLICY IF EXISTS django_session_insert ON django_session;",
                "CREATE POLICY django_session_insert ON django_session FOR INSERT WITH CHECK (true);",
                "DROP POLICY IF EXISTS django_session_update ON django_session;",
                "CREATE POLICY django_session_update ON django_session FOR UPDATE USING (session_key = (SELECT current_setting('crm.session_key', true))) WITH CHECK (session_key = (SELECT current_setting('crm.session_key', true)));",
                "DROP POLICY IF EXISTS django_session_delete ON django_session;",
                "CREATE POLICY django_session_delete ON django_session FOR DELETE USING (session_key = (SELECT current_setting('crm.session_key', true)));",
                'REVOKE ALL ON django_session FROM "{runtime_role}";',
                'GRANT SELECT, INSERT, UPDATE, DELETE ON django_session TO "{runtime_role}";',
            ],
            reverse_sql=[
                "DROP POLICY IF EXISTS django_session_select ON django_session;",
                "DROP POLICY IF EXISTS django_session_insert ON django_session;",
                "DROP POLICY IF EXISTS django_session_update ON django_session;",
                "DROP POLICY IF EXISTS django_session_delete ON django_session;",
                "ALTER TABLE django_session NO FORCE ROW LEVEL SECURITY;",
                "ALTER TABLE django_session DISABLE ROW LEVEL SECURITY;",
                'REVOKE ALL ON django_session FROM "{runtime_role}";',
                'GRANT SELECT, INSERT, UPDATE, DELETE ON django_session TO "{runtime_role}";',
            ],
        ),
        RunPolicySQL(
            sql=[
                "ALTER TABLE tenant ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE tenant FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS tenant_select ON tenant;",
                "CREATE POLICY tenant_select ON tenant FOR SELECT USING (id = (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint));",
                "DROP POLICY IF EXISTS tenant_insert ON tenant;",
                "CREATE POLICY tenant_insert ON tenant FOR INSERT WITH CHECK (false);",
                "DROP POLICY IF EXISTS tenant_update ON tenant;",
                "CREATE POLICY tenant_update ON tenant FOR UPDATE USING (false) WITH CHECK (false);",
                "DROP POLICY IF EXISTS tenant_delete ON tenant;",
                "CREATE POLICY tenant_delete ON tenant FOR DELETE USING (false);",
                'REVOKE ALL ON tenant FROM "{runtime_role}";',
                'GRANT SELECT ON tenant TO "{runtime_role}";',
            ],
            reverse_sql=[
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
        ),
        RunPolicySQL(
            sql=[
                "ALTER TABLE django_admin_log ENABLE ROW LEVEL SECURITY;",
                "ALTER TABLE django_admin_log FORCE ROW LEVEL SECURITY;",
                "DROP POLICY IF EXISTS django_admin_log_select ON django_admin_log;",
                "CREATE POLICY django_admin_log_select ON django_admin_log FOR SELECT USING (user_id = (SELECT nullif(current_setting('crm.user_id', true), '')::bigint));",
                "DROP POLICY IF EXISTS django_admin_log_insert ON django_admin_log;",
                "CREATE POLICY django_admin_log_insert ON django_admin_log FOR INSERT WITH CHECK (user_id = (SELECT nullif(current_setting('crm.user_id', true), '')::bigint) AND (SELECT current_setting('crm.role', true)) IN ('admin', 'manager'));",
                "DROP POLICY IF EXISTS django_admin_log_update ON django_admin_log;",
                "CREATE POLICY django_admin_log_update ON django_admin_log FOR UPDATE USING (false) WITH CHECK (false);",
                "DROP POLICY IF EXISTS django_admin_log_delete ON django_admin_log;",
                "CREATE POLICY django_admin_log_delete ON django_admin_log FOR DELETE USING (false);",
                'REVOKE ALL ON django_admin_log FROM "{runtime_role}";',
                'GRANT SELECT, INSERT ON django_admin_log TO "{runtime_role}";',
            ],
            reverse_sql=[
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
        ),
        migrations.RunPython(grants, revoke),
    ]
