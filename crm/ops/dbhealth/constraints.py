"""Schema checks: tables without a primary key, constraints never validated."""

from __future__ import annotations

from psycopg import sql

from crm.ops.dbhealth.base import USER_SCHEMA, Check, Db, found


def check_tables_without_primary_key(db: Db) -> Check:
    rows = db.rows(
        sql.SQL("""SELECT c.oid::regclass::text AS table, greatest(c.reltuples, 0)::bigint AS rows
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p') AND {user_schema}
               AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')
             ORDER BY 1""").format(user_schema=USER_SCHEMA)
    )
    return found(
        "tables_without_primary_key",
        rows,
        "warn",
        "tables without a primary key",
        why="Rows cannot be addressed one by one; logical replication cannot replicate their updates.",
        remedy="ALTER TABLE <table> ADD PRIMARY KEY (…), or an identity column as one.",
    )


def check_not_valid_constraints(db: Db) -> Check:
    rows = db.rows(
        sql.SQL("""SELECT coalesce(k.conrelid::regclass::text, k.contypid::regtype::text) AS "table",
                   k.conname AS constraint,
                   CASE k.contype WHEN 'f' THEN 'foreign key' WHEN 'c' THEN 'check' ELSE k.contype::text END
                       AS kind,
                   pg_get_constraintdef(k.oid) AS definition
              FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace
             WHERE NOT k.convalidated AND {user_schema}
             ORDER BY 1, 2""").format(user_schema=USER_SCHEMA)
    )
    return found(
        "not_valid_constraints",
        rows,
        "warn",
        "NOT VALID constraints",
        why="New rows obey them; rows from before were never checked, and the planner cannot rely on them.",
        remedy="ALTER TABLE <table> VALIDATE CONSTRAINT <constraint> (takes only a SHARE UPDATE EXCLUSIVE lock).",
    )
