"""Interaction: every policy accepts only the request context crm_request_context() set
(its MAC, crm migration 0012); the search functions, which copy the SELECT policy, are re-created from it."""

from django.db import migrations

from crm.migration_operations import RunPolicySQL


class Migration(migrations.Migration):
    dependencies = [
        ("interactions", "0014_text_limits_validated"),
        ("crm", "0012_unforgeable_request_context"),
    ]

    operations = [
        RunPolicySQL(
            sql=[
                "ALTER POLICY interaction_delete ON interaction USING ((SELECT crm_context_ok()) AND (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text))))",
                "ALTER POLICY interaction_insert ON interaction WITH CHECK ((SELECT crm_context_ok()) AND (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) = ANY (ARRAY['admin'::text, 'manager'::text])) AND ((( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text) OR (principal_id = ANY (( SELECT (NULLIF(current_setting('crm.book'::text, true), ''::text))::bigint[] AS \"nullif\")::bigint[])) OR (principal_id IS NULL)))))",
                "ALTER POLICY interaction_select ON interaction USING ((SELECT crm_context_ok()) AND (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND ((( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text) OR (principal_id = ANY (( SELECT (NULLIF(current_setting('crm.book'::text, true), ''::text))::bigint[] AS \"nullif\")::bigint[])) OR ((principal_id IS NULL) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) <> 'viewer'::text))))))",
                "ALTER POLICY interaction_update ON interaction USING ((SELECT crm_context_ok()) AND (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) = ANY (ARRAY['admin'::text, 'manager'::text])) AND ((( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text) OR (principal_id = ANY (( SELECT (NULLIF(current_setting('crm.book'::text, true), ''::text))::bigint[] AS \"nullif\")::bigint[])) OR (principal_id IS NULL))))) WITH CHECK ((SELECT crm_context_ok()) AND (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) = ANY (ARRAY['admin'::text, 'manager'::text])) AND ((( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text) OR (principal_id = ANY (( SELECT (NULLIF(current_setting('crm.book'::text, true), ''::text))::bigint[] AS \"nullif\")::bigint[])) OR (principal_id IS NULL)))))",
                """CREATE OR REPLACE FUNCTION crm_search_interaction(query text) RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp ROWS 100 AS $$
    SELECT id FROM interaction
     WHERE deleted_at IS NULL AND search_vector @@ to_tsquery('simple', query)
       -- policy interaction_select, verbatim:
       AND ((( SELECT crm_context_ok() AS crm_context_ok) AND ((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS "nullif")) AND ((( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text) OR (principal_id = ANY (( SELECT (NULLIF(current_setting('crm.book'::text, true), ''::text))::bigint[] AS "nullif")::bigint[])) OR ((principal_id IS NULL) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) <> 'viewer'::text))))))
     LIMIT 2000
$$;
REVOKE ALL ON FUNCTION crm_search_interaction(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm_search_interaction(text) TO "{runtime_role}";""",
            ],
            reverse_sql=[
                "ALTER POLICY interaction_delete ON interaction USING (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text)))",
                "ALTER POLICY interaction_insert ON interaction WITH CHECK (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) = ANY (ARRAY['admin'::text, 'manager'::text])) AND ((( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text) OR (principal_id = ANY (( SELECT (NULLIF(current_setting('crm.book'::text, true), ''::text))::bigint[] AS \"nullif\")::bigint[])) OR (principal_id IS NULL))))",
                "ALTER POLICY interaction_select ON interaction USING (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND ((( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text) OR (principal_id = ANY (( SELECT (NULLIF(current_setting('crm.book'::text, true), ''::text))::bigint[] AS \"nullif\")::bigint[])) OR ((principal_id IS NULL) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) <> 'viewer'::text)))))",
                "ALTER POLICY interaction_update ON interaction USING (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) = ANY (ARRAY['admin'::text, 'manager'::text])) AND ((( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text) OR (principal_id = ANY (( SELECT (NULLIF(current_setting('crm.book'::text, true), ''::text))::bigint[] AS \"nullif\")::bigint[])) OR (principal_id IS NULL)))) WITH CHECK (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS \"nullif\")) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) = ANY (ARRAY['admin'::text, 'manager'::text])) AND ((( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text) OR (principal_id = ANY (( SELECT (NULLIF(current_setting('crm.book'::text, true), ''::text))::bigint[] AS \"nullif\")::bigint[])) OR (principal_id IS NULL))))",
                """CREATE OR REPLACE FUNCTION crm_search_interaction(query text) RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp ROWS 100 AS $$
    SELECT id FROM interaction
     WHERE deleted_at IS NULL AND search_vector @@ to_tsquery('simple', query)
       -- policy interaction_select, verbatim:
       AND (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS "nullif")) AND ((( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text) OR (principal_id = ANY (( SELECT (NULLIF(current_setting('crm.book'::text, true), ''::text))::bigint[] AS "nullif")::bigint[])) OR ((principal_id IS NULL) AND (( SELECT current_setting('crm.role'::text, true) AS current_setting) <> 'viewer'::text)))))
     LIMIT 2000
$$;
REVOKE ALL ON FUNCTION crm_search_interaction(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm_search_interaction(text) TO "{runtime_role}";""",
            ],
        ),
    ]
