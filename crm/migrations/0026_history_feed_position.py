"""History rows carry the position the change feed and webhooks read them by (ADR 0026).

A sequence hands out ids at insert, not at commit: a reader that keeps "the last id I saw" misses a row
whose transaction commits after a later id was read. Each row now records `xact`, the writing transaction's
id (pg_current_xact_id()), and the feed serves only rows whose `xact` is older than the reading snapshot's
xmin (every such transaction has finished: nothing can appear before them any more), in (xact, id) order.

`xact` is raised to the record's previous entry's when that one is higher: two changes of one record are
serialised by its row lock, but the later writer may hold the lower transaction id (it got it earlier,
writing something else), and the feed must give one record's changes in the order they were made. The
raised value belongs to a transaction that committed before this one could lock the row, so "xact below
the snapshot's xmin" still means "this row's transaction has finished". The writer function reads the
previous entry as the owner, hence an owner SELECT policy beside its INSERT one.

Safe on a large table: the column is added NOT NULL with a constant default (catalog only, no rewrite, no
scan: rows written before it read '0', "committed long ago", first in the feed); only then does its default
become pg_current_xact_id() (a volatile default at ADD COLUMN would rewrite the table). The feed's index is
built CONCURRENTLY, so the migration runs outside a transaction.
"""

import importlib

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

import crm.models
from crm.migration_operations import RunPolicySQL

PREVIOUS = importlib.import_module("crm.migrations.0006_history_actor_falls_back_to_updated_by").CURRENT
# 0007 gave every definer function pg_temp last in its search_path; a CREATE OR REPLACE must keep it.
PREVIOUS = PREVIOUS.replace(
    "SET search_path = pg_catalog, public AS", "SET search_path = pg_catalog, public, pg_temp AS", 1
)
assert "pg_temp AS" in PREVIOUS

CURRENT = (
    PREVIOUS.replace(
        "    v_operation text :=",
        "    v_xact xid8 := pg_current_xact_id();\n    v_previous xid8;\n    v_operation text :=",
        1,
    )
    .replace(
        "    INSERT INTO history (tenant_id, table_name, row_id, operation, actor_id, request_id, occurred_at, changes,\n"
        "                         scope_principal_id, viewers_see_shared)\n",
        "    -- The record's previous change was made by a transaction that has committed (this one holds the\n"
        "    -- row's lock): sorting after it keeps one record's changes in order in the feed (ADR 0026).\n"
        "    -- Planned for these values each time (EXECUTE): the function's cached plan of the same statement\n"
        "    -- took 90 ms a write on a history of 2.6M entries, this one 0.05 ms (history_row's index).\n"
        "    EXECUTE 'SELECT h.xact FROM history h WHERE h.table_name = $1 AND h.row_id = $2'\n"
        "            ' ORDER BY h.table_name, h.row_id, h.id DESC LIMIT 1'\n"
        "       INTO v_previous USING p_table, (v_row ->> 'id')::bigint;\n"
        "    IF v_previous > v_xact THEN\n"
        "        v_xact := v_previous;\n"
        "    END IF;\n"
        "    INSERT INTO history (tenant_id, table_name, row_id, operation, actor_id, request_id, occurred_at, changes,\n"
        "                         scope_principal_id, viewers_see_shared, xact)\n",
        1,
    )
    .replace(
        "            p_viewers_see_shared);\nEND;",
        "            p_viewers_see_shared, v_xact);\nEND;",
        1,
    )
)
assert CURRENT.count("v_xact") == 4, CURRENT


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction (history takes every write meanwhile).
    atomic = False

    dependencies = [("crm", "0025_job_queue")]

    operations = [
        # A constant default: catalog only, no rewrite.
        migrations.AddField(
            model_name="historyentry",
            name="xact",
            field=crm.models.TransactionIdField(db_default=models.Value("0"), editable=False),
        ),
        # Only now the volatile default, for rows to come (the writer function sets it anyway).
        migrations.RunSQL(
            "ALTER TABLE history ALTER COLUMN xact SET DEFAULT pg_current_xact_id();",
            "ALTER TABLE history ALTER COLUMN xact SET DEFAULT '0';",
        ),
        RunPolicySQL(
            sql=[
                "DROP POLICY IF EXISTS history_writer_select ON history;",
                "CREATE POLICY history_writer_select ON history FOR SELECT TO CURRENT_USER USING (true);",
            ],
            reverse_sql=["DROP POLICY IF EXISTS history_writer_select ON history;"],
        ),
        migrations.RunSQL(CURRENT, PREVIOUS),
        AddIndexConcurrently(
            model_name="historyentry",
            index=models.Index(fields=["tenant", "xact", "id"], name="history_feed"),
        ),
    ]
