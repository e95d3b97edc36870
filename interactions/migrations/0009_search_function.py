"""Search of interactions through a capped search function (crm.api.filters.search says when it is used)."""

from django.db import migrations

from crm.migration_operations import RunPolicySQL


class Migration(migrations.Migration):
    dependencies = [
        ("interactions", "0008_list_indexes"),
    ]

    operations = [
        RunPolicySQL(
            sql=[
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
            reverse_sql=[
                "DROP FUNCTION IF EXISTS crm_search_interaction(text);",
            ],
        )
    ]  # Interaction.search_id_cap when written
