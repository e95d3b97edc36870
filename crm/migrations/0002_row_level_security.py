"""The runtime role, the request-context functions, and row level security on tenancy tables."""

from django.db import migrations

from crm.migration_operations import ApplyRowLevelSecurity, CreateRuntimeRole, GrantRuntime
from crm.rls import BOOK, ROLE, TENANT, USER  # noqa: F401 - BOOK documents the variable set below

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


ADMIN = f"{ROLE} = 'admin'"


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
        ApplyRowLevelSecurity(
            "tenant", f"id = {TENANT}", None, f"id = {TENANT} AND {ADMIN}", None, "SELECT, UPDATE"
        ),
        # Members: everyone reads their own membership; admins manage their firm's.
        ApplyRowLevelSecurity(
            "membership",
            f"user_id = {USER} OR (tenant_id = {TENANT} AND {ADMIN})",
            f"tenant_id = {TENANT} AND {ADMIN}",
            f"tenant_id = {TENANT} AND {ADMIN}",
            f"tenant_id = {TENANT} AND {ADMIN} AND user_id <> {USER}",
        ),
        # The owner runs crm_is_member as definer; under FORCE it needs a policy too, limited to the
        # current tenant (the runtime role is not a member of the owner, so this does not widen its view).
        migrations.RunSQL(
            f"DROP POLICY IF EXISTS membership_definer_select ON membership;"
            f"CREATE POLICY membership_definer_select ON membership FOR SELECT TO CURRENT_USER"
            f" USING (tenant_id = {TENANT});",
            "DROP POLICY IF EXISTS membership_definer_select ON membership;",
        ),
        # The admin's log holds object names (tenant data): each user sees and writes only their own.
        ApplyRowLevelSecurity(
            "django_admin_log", f"user_id = {USER}", f"user_id = {USER}", None, None, "SELECT, INSERT"
        ),
        GrantRuntime("crm_user", "SELECT, INSERT, UPDATE"),
        GrantRuntime("crm_user_groups", "SELECT"),
        GrantRuntime("crm_user_user_permissions", "SELECT"),
        GrantRuntime("django_session", "SELECT, INSERT, UPDATE, DELETE"),
        GrantRuntime("django_content_type", "SELECT"),
        GrantRuntime("auth_permission", "SELECT"),
        GrantRuntime("auth_group", "SELECT"),
        GrantRuntime("auth_group_permissions", "SELECT"),
        GrantRuntime("django_migrations", "SELECT"),
    ]
