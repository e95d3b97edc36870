"""Merges in history, and the check that a merge left nothing behind (ADR 0029).

History's writer names an update that sets a row's `merged_into` a `merge` (not a delete, though the row is
deleted with it) and writes a second `merge` entry for the survivor (`{"merged_from": [null, <id>]}`), so
both sides keep the merge in their history, the change feed and webhooks (`<resource>.merge`). The two rows
are of one scope (the merge rules: an organization of the same type, never a principal; a contact of the
same organization), so the survivor's entry carries the merged row's scope key.

`crm_merge_left_behind(table, ids)` answers whether any row of any table still references one of the given
merged rows through a foreign key (found in pg_constraint, so a table added later is covered without a
change here). It runs as the owner: a merge moves references as the caller, under row level security, and
rows outside the caller's reach (another manager's book) cannot be moved by them; the merge is then refused
(ADR 0029 weighs the one bit this tells a manager). It answers only for rows already merged (`merged_into`
set), in the caller's verified firm.
"""

import importlib

from django.db import migrations, models

from crm.migration_operations import RunPolicySQL

PREVIOUS = importlib.import_module("crm.migrations.0026_history_feed_position").CURRENT

CURRENT = (
    PREVIOUS.replace(
        "    v_previous xid8;\n",
        "    v_previous xid8;\n    v_survivor bigint;\n",
        1,
    )
    .replace(
        "        ELSIF p_old ->> 'deleted_at' IS NULL AND p_new ->> 'deleted_at' IS NOT NULL THEN\n"
        "            v_operation := 'delete';\n",
        "        ELSIF p_old ->> 'merged_into_id' IS NULL AND p_new ->> 'merged_into_id' IS NOT NULL THEN\n"
        "            -- Deleted by the same update, but a merge is news of its own (ADR 0029).\n"
        "            v_operation := 'merge';\n"
        "        ELSIF p_old ->> 'deleted_at' IS NULL AND p_new ->> 'deleted_at' IS NOT NULL THEN\n"
        "            v_operation := 'delete';\n",
        1,
    )
    .replace(
        "            p_viewers_see_shared, v_xact);\nEND;",
        "            p_viewers_see_shared, v_xact);\n"
        "    IF v_operation = 'merge' THEN\n"
        "        -- The survivor's side: what was merged into it, in its own order (as above).\n"
        "        v_survivor := (p_new ->> 'merged_into_id')::bigint;\n"
        "        v_xact := pg_current_xact_id();\n"
        "        EXECUTE 'SELECT h.xact FROM history h WHERE h.table_name = $1 AND h.row_id = $2'\n"
        "                ' ORDER BY h.table_name, h.row_id, h.id DESC LIMIT 1'\n"
        "           INTO v_previous USING p_table, v_survivor;\n"
        "        IF v_previous > v_xact THEN\n"
        "            v_xact := v_previous;\n"
        "        END IF;\n"
        "        INSERT INTO history (tenant_id, table_name, row_id, operation, actor_id, request_id, occurred_at,\n"
        "                             changes, scope_principal_id, viewers_see_shared, xact)\n"
        "        VALUES ((v_row ->> 'tenant_id')::bigint, p_table, v_survivor, 'merge',\n"
        "                coalesce(nullif(current_setting('crm.user_id', true), '')::bigint,\n"
        "                         (v_row ->> 'updated_by_id')::bigint),\n"
        "                coalesce(current_setting('crm.request_id', true), ''), now(),\n"
        "                jsonb_build_object('merged_from', jsonb_build_array(NULL, (v_row ->> 'id')::bigint)),\n"
        "                CASE WHEN p_scope_column IS NOT NULL THEN (v_row ->> p_scope_column)::bigint END,\n"
        "                p_viewers_see_shared, v_xact);\n"
        "    END IF;\n"
        "END;",
        1,
    )
)
assert CURRENT.count("'merge'") == 3 and "v_survivor bigint" in CURRENT, CURRENT

LEFT_BEHIND = [
    """
CREATE FUNCTION crm_merge_left_behind(p_table regclass, p_ids bigint[]) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp SET row_security = off AS $$
DECLARE
    v_tenant bigint := nullif(current_setting('crm.tenant_id', true), '')::bigint;
    v_merged bigint;
    v_key record;
    v_found boolean;
BEGIN
    IF NOT crm_context_ok() OR v_tenant IS NULL THEN
        RAISE EXCEPTION 'no verified request context' USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- Only rows already merged in the caller's firm: nothing else can be asked about.
    EXECUTE format('SELECT count(*) FROM %s WHERE id = ANY ($1) AND tenant_id = $2 AND merged_into_id IS NOT NULL',
                   p_table)
       INTO v_merged USING p_ids, v_tenant;
    IF v_merged <> cardinality(p_ids) THEN
        RAISE EXCEPTION 'only merged rows of the firm' USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- Every foreign key to the table, by its column paired with the referenced id.
    FOR v_key IN
        SELECT c.conrelid::regclass AS referencing, a.attname AS column_name
          FROM pg_constraint c
          CROSS JOIN LATERAL unnest(c.conkey, c.confkey) AS k(referencing_column, referenced_column)
          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.referencing_column
          JOIN pg_attribute r ON r.attrelid = c.confrelid AND r.attnum = k.referenced_column
         WHERE c.contype = 'f' AND c.confrelid = p_table AND r.attname = 'id'
    LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE %I = ANY ($1) AND tenant_id = $2%s)',
                       v_key.referencing, v_key.column_name,
                       CASE WHEN v_key.referencing = p_table THEN ' AND NOT (id = ANY ($1))' ELSE '' END)
           INTO v_found USING p_ids, v_tenant;
        IF v_found THEN
            RETURN true;
        END IF;
    END LOOP;
    RETURN false;
END;
$$;
""",
    "REVOKE ALL ON FUNCTION crm_merge_left_behind(regclass, bigint[]) FROM PUBLIC;",
    'GRANT EXECUTE ON FUNCTION crm_merge_left_behind(regclass, bigint[]) TO "{runtime_role}";',
]


class Migration(migrations.Migration):
    dependencies = [("crm", "0029_time_zones_validated")]

    operations = [
        migrations.AlterField(
            model_name="historyentry",
            name="operation",
            field=models.CharField(
                choices=[
                    ("insert", "Insert"),
                    ("update", "Update"),
                    ("delete", "Delete (soft)"),
                    ("restore", "Restore"),
                    ("purge", "Purge (hard delete)"),
                    ("merge", "Merge"),
                ],
                max_length=8,
            ),
        ),
        migrations.RunSQL(CURRENT, PREVIOUS),
        RunPolicySQL(
            sql=LEFT_BEHIND,
            reverse_sql=["DROP FUNCTION IF EXISTS crm_merge_left_behind(regclass, bigint[]);"],
        ),
    ]
