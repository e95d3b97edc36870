"""The request's RLS variables are unforgeable from the runtime role.

Before, SQL running as the runtime role (an injection, say) could `set_config('crm.tenant_id', …)` and
read another firm. Now crm_request_context() also sets `crm.context_mac`: a MAC (HMAC-style nested SHA-256,
PostgreSQL's built-in sha256(): no extension) of the user, firm, role and book, bound to the backend
and the transaction, keyed by a random secret in crm_context_key, which only the owner reads. Every
policy the runtime role meets starts with `(SELECT crm_context_ok())` (this migration for crm's tables,
one in each app for theirs): a STABLE SECURITY DEFINER function that recomputes the MAC, evaluated once
per statement. Variables set any other way make every policy false: nothing is seen, nothing is written.

The runtime role may execute crm_context_ok() (a yes or no) but neither crm_context_mac() nor
crm_request_context(); the one-argument crm_request_context(bigint), kept for the app version still
running during the deploy, now calls the new one so its requests carry the MAC too.
"""

import importlib

from django.db import migrations

from crm.migration_operations import RunPolicySQL

CREDENTIALS = importlib.import_module("crm.migrations.0010_credentials_epoch")
INITIAL = importlib.import_module("crm.migrations.0002_row_level_security")

# 4 random UUIDs (122 random bits each, from PostgreSQL's strong random source) make each 64-byte key.
KEY = [
    "CREATE TABLE crm_context_key (id bigint PRIMARY KEY CHECK (id = 1), inner_key bytea NOT NULL, outer_key bytea NOT NULL);",
    "REVOKE ALL ON crm_context_key FROM PUBLIC;",
    """INSERT INTO crm_context_key (id, inner_key, outer_key) SELECT 1,
    decode(replace(gen_random_uuid()::text || gen_random_uuid()::text || gen_random_uuid()::text
                   || gen_random_uuid()::text, '-', ''), 'hex'),
    decode(replace(gen_random_uuid()::text || gen_random_uuid()::text || gen_random_uuid()::text
                   || gen_random_uuid()::text, '-', ''), 'hex');""",
    """CREATE OR REPLACE FUNCTION crm_context_mac() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT encode(sha256(k.outer_key || sha256(k.inner_key || convert_to(json_build_array(
               coalesce(current_setting('crm.user_id', true), ''),
               coalesce(current_setting('crm.tenant_id', true), ''),
               coalesce(current_setting('crm.role', true), ''),
               coalesce(current_setting('crm.book', true), ''),
               pg_backend_pid(), transaction_timestamp())::text, 'UTF8'))), 'hex')
      FROM crm_context_key k WHERE k.id = 1;
$$;""",
    "REVOKE ALL ON FUNCTION crm_context_mac() FROM PUBLIC;",
    """CREATE OR REPLACE FUNCTION crm_context_ok() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT coalesce(current_setting('crm.context_mac', true) = crm_context_mac(), false);
$$;""",
    "REVOKE ALL ON FUNCTION crm_context_ok() FROM PUBLIC;",
]
DROP_KEY = """
DROP FUNCTION IF EXISTS crm_context_ok();
DROP FUNCTION IF EXISTS crm_context_mac();
DROP TABLE IF EXISTS crm_context_key;
"""

REQUEST_CONTEXT = """
CREATE OR REPLACE FUNCTION crm_request_context(p_user_id bigint, p_credentials bigint)
RETURNS TABLE (tenant_id bigint, role text, book bigint[], revoked boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    m record;
    v_tenant bigint;
    v_role text;
    v_book bigint[];
    v_revoked boolean := false;
BEGIN
    -- Transaction-local, so nothing outlives the request's transaction. Cleared first: fail closed.
    PERFORM set_config('crm.tenant_id', '', true), set_config('crm.role', '', true),
            set_config('crm.book', '', true), set_config('crm.user_id', '', true);
    IF p_user_id IS NOT NULL THEN
        SELECT ms.tenant_id, ms.role, u.credentials_epoch INTO m
          FROM membership ms JOIN crm_user u ON u.id = ms.user_id
         WHERE ms.user_id = p_user_id AND u.is_active;
        IF FOUND AND p_credentials IS NOT NULL AND p_credentials IS DISTINCT FROM m.credentials_epoch THEN
            v_revoked := true;  -- a token from before the credentials changed: nobody
        ELSIF FOUND THEN
            v_tenant := m.tenant_id;
            v_role := m.role;
            PERFORM set_config('crm.user_id', p_user_id::text, true),
                    set_config('crm.tenant_id', v_tenant::text, true), set_config('crm.role', v_role, true);
            IF v_role <> 'admin' THEN
                -- An admin's book is every principal: policies test the role, not the book.
                SELECT coalesce(array_agg(pa.principal_id ORDER BY pa.principal_id), '{}') INTO v_book
                  FROM principal_assignment pa
                 WHERE pa.user_id = p_user_id AND pa.tenant_id = v_tenant AND pa.deleted_at IS NULL;
                PERFORM set_config('crm.book', v_book::text, true);
            END IF;
        END IF;
    END IF;
    -- The MAC of exactly what was set (nobody too): the policies accept these variables and no others.
    PERFORM set_config('crm.context_mac', crm_context_mac(), true);
    RETURN QUERY SELECT v_tenant, v_role, v_book, v_revoked;
END;
$$;

CREATE OR REPLACE FUNCTION crm_request_context(p_user_id bigint)
RETURNS TABLE (tenant_id bigint, role text, book bigint[])
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT c.tenant_id, c.role, c.book FROM crm_request_context(p_user_id, NULL) c;
$$;
"""
PREVIOUS_REQUEST_CONTEXT = (
    INITIAL.REQUEST_CONTEXT
    + "ALTER FUNCTION crm_request_context(bigint) SET search_path = pg_catalog, public, pg_temp;\n"
    + CREDENTIALS.REQUEST_CONTEXT
)


# As 0003's, and only for a verified context: the check it made on the firm and the role read variables
# the runtime role could set itself.
NEW_CREATE_MEMBER = """
CREATE OR REPLACE FUNCTION crm_create_member(
    p_email text, p_first_name text, p_last_name text, p_password text, p_role text
) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_tenant bigint := (SELECT nullif(current_setting('crm.tenant_id', true), '')::bigint);
    v_user bigint;
BEGIN
    IF NOT crm_context_ok() OR v_tenant IS NULL OR (SELECT current_setting('crm.role', true)) IS DISTINCT FROM 'admin' THEN
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
"""
PREVIOUS_CREATE_MEMBER = NEW_CREATE_MEMBER.replace("IF NOT crm_context_ok() OR v_tenant", "IF v_tenant")


def grant(apps, schema_editor):
    from crm.rls import runtime_role

    schema_editor.execute(f'GRANT EXECUTE ON FUNCTION crm_context_ok() TO "{runtime_role()}";')


def revoke(apps, schema_editor):
    from crm.rls import runtime_role

    schema_editor.execute(f'REVOKE EXECUTE ON FUNCTION crm_context_ok() FROM "{runtime_role()}";')


class Migration(migrations.Migration):
    dependencies = [("crm", "0011_signin_failures")]

    operations = [
        migrations.RunSQL(KEY, DROP_KEY),
        migrations.RunPython(grant, revoke),
        migrations.RunSQL(REQUEST_CONTEXT, PREVIOUS_REQUEST_CONTEXT),
        migrations.RunSQL(NEW_CREATE_MEMBER, PREVIOUS_CREATE_MEMBER),
        RunPolicySQL(
            sql=[
                "ALTER POLICY tenant_delete ON tenant USING ((SELECT crm_context_ok()) AND (false))",
                "ALTER POLICY tenant_insert ON tenant WITH CHECK ((SELECT crm_context_ok()) AND (false))",
                "ALTER POLICY tenant_select ON tenant USING ((SELECT crm_context_ok()) AND ((id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\"))))",
                "ALTER POLICY tenant_update ON tenant USING ((SELECT crm_context_ok()) AND (false)) WITH CHECK ((SELECT crm_context_ok()) AND (false))",
                "ALTER POLICY membership_delete ON membership USING ((SELECT crm_context_ok()) AND (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text) AND (user_id <> ( SELECT (NULLIF(current_setting('crm.user_id'::text, true), ''::text))::bigint AS \"nullif\")))))",
                "ALTER POLICY membership_insert ON membership WITH CHECK ((SELECT crm_context_ok()) AND (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text))))",
                "ALTER POLICY membership_select ON membership USING ((SELECT crm_context_ok()) AND (((user_id = ( SELECT (NULLIF(current_setting('crm.user_id'::text, true), ''::text))::bigint AS \"nullif\")) OR ((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text)))))",
                "ALTER POLICY membership_update ON membership USING ((SELECT crm_context_ok()) AND (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text)))) WITH CHECK ((SELECT crm_context_ok()) AND (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text))))",
                "ALTER POLICY crm_user_delete ON crm_user USING ((SELECT crm_context_ok()) AND (false))",
                "ALTER POLICY crm_user_insert ON crm_user WITH CHECK ((SELECT crm_context_ok()) AND (false))",
                "ALTER POLICY crm_user_select ON crm_user USING ((SELECT crm_context_ok()) AND (((id = ( SELECT (NULLIF(current_setting('crm.user_id'::text, true), ''::text))::bigint AS \"nullif\")) OR (id = ANY (( SELECT crm_member_ids() AS crm_member_ids)::bigint[])))))",
                "ALTER POLICY crm_user_update ON crm_user USING ((SELECT crm_context_ok()) AND ((((id = ( SELECT (NULLIF(current_setting('crm.user_id'::text, true), ''::text))::bigint AS \"nullif\")) OR ((( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text) AND (id = ANY (( SELECT crm_member_ids() AS crm_member_ids)::bigint[])))) AND (NOT is_superuser)))) WITH CHECK ((SELECT crm_context_ok()) AND ((((id = ( SELECT (NULLIF(current_setting('crm.user_id'::text, true), ''::text))::bigint AS \"nullif\")) OR ((( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text) AND (id = ANY (( SELECT crm_member_ids() AS crm_member_ids)::bigint[])))) AND (NOT is_superuser))))",
                "ALTER POLICY django_session_delete ON django_session USING ((SELECT crm_context_ok()) AND (((session_key)::text = ( SELECT current_setting('crm.session_key'::text, true) AS current_setting))))",
                "ALTER POLICY django_session_insert ON django_session WITH CHECK ((SELECT crm_context_ok()) AND (true))",
                "ALTER POLICY django_session_select ON django_session USING ((SELECT crm_context_ok()) AND (((session_key)::text = ( SELECT current_setting('crm.session_key'::text, true) AS current_setting))))",
                "ALTER POLICY django_session_update ON django_session USING ((SELECT crm_context_ok()) AND (((session_key)::text = ( SELECT current_setting('crm.session_key'::text, true) AS current_setting)))) WITH CHECK ((SELECT crm_context_ok()) AND (((session_key)::text = ( SELECT current_setting('crm.session_key'::text, true) AS current_setting))))",
                "ALTER POLICY django_admin_log_delete ON django_admin_log USING ((SELECT crm_context_ok()) AND (false))",
                "ALTER POLICY django_admin_log_insert ON django_admin_log WITH CHECK ((SELECT crm_context_ok()) AND (((user_id = ( SELECT (NULLIF(current_setting('crm.user_id'::text, true), ''::text))::bigint AS \"nullif\")) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) = ANY (ARRAY['admin'::text, 'manager'::text])))))",
                "ALTER POLICY django_admin_log_select ON django_admin_log USING ((SELECT crm_context_ok()) AND ((user_id = ( SELECT (NULLIF(current_setting('crm.user_id'::text, true), ''::text))::bigint AS \"nullif\"))))",
                "ALTER POLICY django_admin_log_update ON django_admin_log USING ((SELECT crm_context_ok()) AND (false)) WITH CHECK ((SELECT crm_context_ok()) AND (false))",
                "ALTER POLICY history_delete ON history USING ((SELECT crm_context_ok()) AND (false))",
                "ALTER POLICY history_insert ON history WITH CHECK ((SELECT crm_context_ok()) AND (false))",
                "ALTER POLICY history_select ON history USING ((SELECT crm_context_ok()) AND (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND ((( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text) OR (scope_principal_id = ANY (( SELECT (NULLIF(current_setting('crm.book'::text, true), ''::text))::bigint[] AS \"nullif\")::bigint[])) OR ((scope_principal_id IS NULL) AND (viewers_see_shared OR (( SELECT current_setting('crm.role'::text, true) AS current_setting) <> 'viewer'::text)))))))",
                "ALTER POLICY history_update ON history USING ((SELECT crm_context_ok()) AND (false)) WITH CHECK ((SELECT crm_context_ok()) AND (false))",
            ],
            reverse_sql=[
                "ALTER POLICY tenant_delete ON tenant USING (false)",
                "ALTER POLICY tenant_insert ON tenant WITH CHECK (false)",
                "ALTER POLICY tenant_select ON tenant USING ((id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")))",
                "ALTER POLICY tenant_update ON tenant USING (false) WITH CHECK (false)",
                "ALTER POLICY membership_delete ON membership USING (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text) AND (user_id <> ( SELECT (NULLIF(current_setting('crm.user_id'::text, true), ''::text))::bigint AS \"nullif\"))))",
                "ALTER POLICY membership_insert ON membership WITH CHECK (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text)))",
                "ALTER POLICY membership_select ON membership USING (((user_id = ( SELECT (NULLIF(current_setting('crm.user_id'::text, true), ''::text))::bigint AS \"nullif\")) OR ((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text))))",
                "ALTER POLICY membership_update ON membership USING (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text))) WITH CHECK (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text)))",
                "ALTER POLICY crm_user_delete ON crm_user USING (false)",
                "ALTER POLICY crm_user_insert ON crm_user WITH CHECK (false)",
                "ALTER POLICY crm_user_select ON crm_user USING (((id = ( SELECT (NULLIF(current_setting('crm.user_id'::text, true), ''::text))::bigint AS \"nullif\")) OR (id = ANY (( SELECT crm_member_ids() AS crm_member_ids)::bigint[]))))",
                "ALTER POLICY crm_user_update ON crm_user USING ((((id = ( SELECT (NULLIF(current_setting('crm.user_id'::text, true), ''::text))::bigint AS \"nullif\")) OR ((( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text) AND (id = ANY (( SELECT crm_member_ids() AS crm_member_ids)::bigint[])))) AND (NOT is_superuser))) WITH CHECK ((((id = ( SELECT (NULLIF(current_setting('crm.user_id'::text, true), ''::text))::bigint AS \"nullif\")) OR ((( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text) AND (id = ANY (( SELECT crm_member_ids() AS crm_member_ids)::bigint[])))) AND (NOT is_superuser)))",
                "ALTER POLICY django_session_delete ON django_session USING (((session_key)::text = ( SELECT current_setting('crm.session_key'::text, true) AS current_setting)))",
                "ALTER POLICY django_session_insert ON django_session WITH CHECK (true)",
                "ALTER POLICY django_session_select ON django_session USING (((session_key)::text = ( SELECT current_setting('crm.session_key'::text, true) AS current_setting)))",
                "ALTER POLICY django_session_update ON django_session USING (((session_key)::text = ( SELECT current_setting('crm.session_key'::text, true) AS current_setting))) WITH CHECK (((session_key)::text = ( SELECT current_setting('crm.session_key'::text, true) AS current_setting)))",
                "ALTER POLICY django_admin_log_delete ON django_admin_log USING (false)",
                "ALTER POLICY django_admin_log_insert ON django_admin_log WITH CHECK (((user_id = ( SELECT (NULLIF(current_setting('crm.user_id'::text, true), ''::text))::bigint AS \"nullif\")) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) = ANY (ARRAY['admin'::text, 'manager'::text]))))",
                "ALTER POLICY django_admin_log_select ON django_admin_log USING ((user_id = ( SELECT (NULLIF(current_setting('crm.user_id'::text, true), ''::text))::bigint AS \"nullif\")))",
                "ALTER POLICY django_admin_log_update ON django_admin_log USING (false) WITH CHECK (false)",
                "ALTER POLICY history_delete ON history USING (false)",
                "ALTER POLICY history_insert ON history WITH CHECK (false)",
                "ALTER POLICY history_select ON history USING (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND ((( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text) OR (scope_principal_id = ANY (( SELECT (NULLIF(current_setting('crm.book'::text, true), ''::text))::bigint[] AS \"nullif\")::bigint[])) OR ((scope_principal_id IS NULL) AND (viewers_see_shared OR (( SELECT current_setting('crm.role'::text, true) AS current_setting) <> 'viewer'::text))))))",
                "ALTER POLICY history_update ON history USING (false) WITH CHECK (false)",
            ],
        ),
    ]
