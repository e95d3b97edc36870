"""Contact: every policy accepts only the request context crm_request_context() set
(its MAC, crm migration 0012); the search functions, which copy the SELECT policy, are re-created from it."""

from django.db import migrations

from crm.migration_operations import RunPolicySQL


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0015_names_and_text_limits_validated"),
        ("crm", "0012_unforgeable_request_context"),
    ]

    operations = [
        RunPolicySQL(
            sql=[
                "ALTER POLICY contact_delete ON contact USING ((SELECT crm_context_ok()) AND (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text))))",
                "ALTER POLICY contact_insert ON contact WITH CHECK ((SELECT crm_context_ok()) AND (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) = ANY (ARRAY['admin'::text, 'manager'::text])) AND ((( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text) OR (scope_principal_id = ANY (( SELECT (NULLIF(current_setting('crm.book'::text, true), ''::text))::bigint[] AS \"nullif\")::bigint[])) OR (scope_principal_id IS NULL)))))",
                "ALTER POLICY contact_select ON contact USING ((SELECT crm_context_ok()) AND (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND ((( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text) OR (scope_principal_id = ANY (( SELECT (NULLIF(current_setting('crm.book'::text, true), ''::text))::bigint[] AS \"nullif\")::bigint[])) OR ((scope_principal_id IS NULL) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) <> 'viewer'::text))))))",
                "ALTER POLICY contact_update ON contact USING ((SELECT crm_context_ok()) AND (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) = ANY (ARRAY['admin'::text, 'manager'::text])) AND ((( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text) OR (scope_principal_id = ANY (( SELECT (NULLIF(current_setting('crm.book'::text, true), ''::text))::bigint[] AS \"nullif\")::bigint[])) OR (scope_principal_id IS NULL))))) WITH CHECK ((SELECT crm_context_ok()) AND (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) = ANY (ARRAY['admin'::text, 'manager'::text])) AND ((( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text) OR (scope_principal_id = ANY (( SELECT (NULLIF(current_setting('crm.book'::text, true), ''::text))::bigint[] AS \"nullif\")::bigint[])) OR (scope_principal_id IS NULL)))))",
                """CREATE OR REPLACE FUNCTION crm_search_contact(query text) RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp ROWS 100 AS $$
    SELECT id FROM contact
     WHERE deleted_at IS NULL AND search_vector @@ to_tsquery('simple', query)
       -- policy contact_select, verbatim:
       AND ((( SELECT crm_context_ok() AS crm_context_ok) AND ((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS "nullif")) AND ((( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text) OR (scope_principal_id = ANY (( SELECT (NULLIF(current_setting('crm.book'::text, true), ''::text))::bigint[] AS "nullif")::bigint[])) OR ((scope_principal_id IS NULL) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) <> 'viewer'::text))))))
$$;
REVOKE ALL ON FUNCTION crm_search_contact(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm_search_contact(text) TO "{runtime_role}";""",
                """CREATE OR REPLACE FUNCTION crm_search_contact_keyed(query text) RETURNS TABLE (id bigint, last_name character varying(100), first_name character varying(100))
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp ROWS 100 AS $$
    SELECT id, last_name, first_name FROM contact
     WHERE deleted_at IS NULL AND search_vector @@ to_tsquery('simple', query)
       -- policy contact_select, verbatim:
       AND ((( SELECT crm_context_ok() AS crm_context_ok) AND ((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS "nullif")) AND ((( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text) OR (scope_principal_id = ANY (( SELECT (NULLIF(current_setting('crm.book'::text, true), ''::text))::bigint[] AS "nullif")::bigint[])) OR ((scope_principal_id IS NULL) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) <> 'viewer'::text))))))
$$;
REVOKE ALL ON FUNCTION crm_search_contact_keyed(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm_search_contact_keyed(text) TO "{runtime_role}";""",
            ],
            reverse_sql=[
                "ALTER POLICY contact_delete ON contact USING (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text)))",
                "ALTER POLICY contact_insert ON contact WITH CHECK (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) = ANY (ARRAY['admin'::text, 'manager'::text])) AND ((( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text) OR (scope_principal_id = ANY (( SELECT (NULLIF(current_setting('crm.book'::text, true), ''::text))::bigint[] AS \"nullif\")::bigint[])) OR (scope_principal_id IS NULL))))",
                "ALTER POLICY contact_select ON contact USING (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND ((( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text) OR (scope_principal_id = ANY (( SELECT (NULLIF(current_setting('crm.book'::text, true), ''::text))::bigint[] AS \"nullif\")::bigint[])) OR ((scope_principal_id IS NULL) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) <> 'viewer'::text)))))",
                "ALTER POLICY contact_update ON contact USING (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) = ANY (ARRAY['admin'::text, 'manager'::text])) AND ((( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text) OR (scope_principal_id = ANY (( SELECT (NULLIF(current_setting('crm.book'::text, true), ''::text))::bigint[] AS \"nullif\")::bigint[])) OR (scope_principal_id IS NULL)))) WITH CHECK (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) = ANY (ARRAY['admin'::text, 'manager'::text])) AND ((( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text) OR (scope_principal_id = ANY (( SELECT (NULLIF(current_setting('crm.book'::text, true), ''::text))::bigint[] AS \"nullif\")::bigint[])) OR (scope_principal_id IS NULL))))",
                """CREATE OR REPLACE FUNCTION crm_search_contact(query text) RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp ROWS 100 AS $$
    SELECT id FROM contact
     WHERE deleted_at IS NULL AND search_vector @@ to_tsquery('simple', query)
       -- policy contact_select, verbatim:
       AND (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS "nullif")) AND ((( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text) OR (scope_principal_id = ANY (( SELECT (NULLIF(current_setting('crm.book'::text, true), ''::text))::bigint[] AS "nullif")::bigint[])) OR ((scope_principal_id IS NULL) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) <> 'viewer'::text)))))
$$;
REVOKE ALL ON FUNCTION crm_search_contact(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm_search_contact(text) TO "{runtime_role}";""",
                """CREATE OR REPLACE FUNCTION crm_search_contact_keyed(query text) RETURNS TABLE (id bigint, last_name character varying(100), first_name character varying(100))
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp ROWS 100 AS $$
    SELECT id, last_name, first_name FROM contact
     WHERE deleted_at IS NULL AND search_vector @@ to_tsquery('simple', query)
       -- policy contact_select, verbatim:
       AND (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS "nullif")) AND ((( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text) OR (scope_principal_id = ANY (( SELECT (NULLIF(current_setting('crm.book'::text, true), ''::text))::bigint[] AS "nullif")::bigint[])) OR ((scope_principal_id IS NULL) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) <> 'viewer'::text)))))
$$;
REVOKE ALL ON FUNCTION crm_search_contact_keyed(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm_search_contact_keyed(text) TO "{runtime_role}";""",
            ],
        ),
    ]
