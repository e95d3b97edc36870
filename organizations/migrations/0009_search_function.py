"""Search that can use its GIN index under row level security (crm.rls.search_function_sql as it was then, under the SELECT policy of the time: frozen literal SQL)."""

from django.db import migrations

from crm.migration_operations import RunPolicySQL


class Migration(migrations.Migration):
    dependencies = [
        ("organizations", "0008_list_indexes"),
    ]

    operations = [
        RunPolicySQL(
            sql=[
                """CREATE OR REPLACE FUNCTION crm_search_organization(query text) RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp ROWS 100 AS $$
    SELECT id FROM organization
     WHERE deleted_at IS NULL AND search_vector @@ to_tsquery('simple', query)
       -- policy organization_select, verbatim:
       AND (((tenant_id = ( SELECT (NULLIF(current_setting('crm.tenant_id'::text, true), ''::text))::bigint AS "nullif")) AND ((( SELECT current_setting('crm.role'::text, true) AS current_setting) = 'admin'::text) OR (scope_principal_id = ANY (( SELECT (NULLIF(current_setting('crm.book'::text, true), ''::text))::bigint[] AS "nullif")::bigint[])) OR (scope_principal_id IS NULL))))
$$;
REVOKE ALL ON FUNCTION crm_search_organization(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm_search_organization(text) TO "{runtime_role}";""",
            ],
            reverse_sql=[
                "DROP FUNCTION IF EXISTS crm_search_organization(text);",
            ],
        )
    ]
