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

from crm.migration_operations import ApplyRowLevelSecurity
from crm.rls import ROLE, TENANT, USER

SESSION_KEY = "(SELECT current_setting('crm.session_key', true))"
MEMBERS = "(SELECT crm_member_ids())::bigint[]"
ADMIN = f"{ROLE} = 'admin'"

FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION crm_member_ids()
RETURNS bigint[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT coalesce(array_agg(user_id), '{{}}') FROM membership WHERE tenant_id = {TENANT};
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
    v_tenant bigint := {TENANT};
    v_user bigint;
BEGIN
    IF v_tenant IS NULL OR {ROLE} IS DISTINCT FROM 'admin' THEN
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
        ApplyRowLevelSecurity(
            "crm_user",
            f"id = {USER} OR id = ANY ({MEMBERS})",
            None,
            f"(id = {USER} OR ({ADMIN} AND id = ANY ({MEMBERS}))) AND NOT is_superuser",
            None,
            "SELECT",
            force=False,
            # Before: no RLS, and 0002's GrantRuntime("crm_user", "SELECT, INSERT, UPDATE").
            previous={"select": None, "grant": "SELECT, INSERT, UPDATE"},
        ),
        ApplyRowLevelSecurity(
            "django_session",
            f"session_key = {SESSION_KEY}",
            "true",
            f"session_key = {SESSION_KEY}",
            f"session_key = {SESSION_KEY}",
            force=False,
            # Before: no RLS, and 0002's GrantRuntime("django_session", "SELECT, INSERT, UPDATE, DELETE").
            previous={"select": None, "grant": "SELECT, INSERT, UPDATE, DELETE"},
        ),
        ApplyRowLevelSecurity(
            "tenant",
            f"id = {TENANT}",
            None,
            None,
            None,
            "SELECT",
            previous={
                "select": f"id = {TENANT}",
                "insert": None,
                "update": f"id = {TENANT} AND {ADMIN}",
                "delete": None,
                "grant": "SELECT, UPDATE",
            },
        ),
        ApplyRowLevelSecurity(
            "django_admin_log",
            f"user_id = {USER}",
            f"user_id = {USER} AND {ROLE} IN ('admin', 'manager')",
            None,
            None,
            "SELECT, INSERT",
            previous={
                "select": f"user_id = {USER}",
                "insert": f"user_id = {USER}",
                "update": None,
                "delete": None,
                "grant": "SELECT, INSERT",
            },
        ),
        migrations.RunPython(grants, revoke),
    ]
