"""Search that picks its page from its own matches, in the list's order (crm.rls.keyed_search_function_sql then: frozen literal SQL)."""

from django.db import migrations

from crm.migration_operations import RunPolicySQL


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0011_foreign_key_indexes_deduplicated"),
    ]

    operations = [
        RunPolicySQL(
            sql=[
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
            reverse_sql=[
                "DROP FUNCTION IF EXISTS crm_search_contact_keyed(text);",
            ],
        )
    ]
