"""Maintenance checks: what vacuum and the schema must keep ahead of (wraparound, autovacuum, sequences)."""

from __future__ import annotations

from psycopg import sql

from crm.ops.dbhealth.base import USER_SCHEMA, Check, Db, found, graded, worst

XID_LIMIT = 2**31
TYPE_MAX = {"smallint": 2**15 - 1, "integer": 2**31 - 1, "bigint": 2**63 - 1}


def check_wraparound(db: Db) -> Check:
    t = db.thresholds
    databases = db.rows(
        """SELECT datname AS database, age(datfrozenxid)::bigint AS xid_age,
                  mxid_age(datminmxid)::bigint AS multixact_age
             FROM pg_database WHERE datallowconn ORDER BY 2 DESC"""
    )
    tables = db.rows(
        sql.SQL("""SELECT c.oid::regclass::text AS table, age(c.relfrozenxid)::bigint AS xid_age
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'm', 't') AND c.relfrozenxid <> 0 AND {user_schema}
             ORDER BY 2 DESC LIMIT 5""").format(user_schema=USER_SCHEMA)
    )
    holders = db.rows(
        """SELECT 'session ' || pid AS holder, age(backend_xmin)::bigint AS xmin_age, state
             FROM pg_stat_activity WHERE backend_xmin IS NOT NULL
           UNION ALL
           SELECT 'prepared ' || gid, age(transaction)::bigint, 'prepared' FROM pg_prepared_xacts
           UNION ALL
           SELECT 'slot ' || slot_name, age(coalesce(xmin, catalog_xmin))::bigint,
                  CASE WHEN active THEN 'active' ELSE 'inactive' END
             FROM pg_replication_slots WHERE coalesce(xmin, catalog_xmin) IS NOT NULL
            ORDER BY 2 DESC LIMIT 5"""
    )
    oldest = max((max(row["xid_age"], row["multixact_age"]) for row in databases), default=0)
    used = oldest / XID_LIMIT
    status = graded(used, t.wraparound_warn, t.wraparound_fail)
    freeze_max_age = int(db.one("SELECT current_setting('autovacuum_freeze_max_age')::bigint AS v")["v"])
    return Check(
        "wraparound",
        status,
        f"oldest transaction ID / multixact age {oldest:,} = {used:.1%} of 2^31 "
        f"(anti-wraparound autovacuum starts at {freeze_max_age:,})",
        {
            "oldest_age": oldest,
            "used": round(used, 4),
            "autovacuum_freeze_max_age": freeze_max_age,
            "oldest_tables": tables,
            "xmin_holders": holders,
        },
        ""
        if status == "ok"
        else "VACUUM (FREEZE, VERBOSE) the oldest tables now; first end whatever holds the xmin horizon "
        "back (long transactions, forgotten prepared transactions, stale replication slots: see figures).",
        databases if status != "ok" else [],
    )


def check_autovacuum(db: Db) -> Check:
    t = db.thresholds
    db.fresh_activity()
    settings_row = db.one(
        """SELECT current_setting('autovacuum') = 'on' AS autovacuum,
                  current_setting('track_counts') = 'on' AS track_counts"""
    )
    # Each table's own trigger point: reloptions when set, the server's settings otherwise.
    rows = db.rows(
        sql.SQL("""WITH options AS (
                SELECT c.oid, c.reltuples,
                       (SELECT option_value FROM pg_options_to_table(c.reloptions)
                         WHERE option_name = 'autovacuum_enabled') AS enabled,
                       coalesce((SELECT option_value::float8 FROM pg_options_to_table(c.reloptions)
                                  WHERE option_name = 'autovacuum_vacuum_threshold'),
                                current_setting('autovacuum_vacuum_threshold')::float8) AS base,
                       coalesce((SELECT option_value::float8 FROM pg_options_to_table(c.reloptions)
                                  WHERE option_name = 'autovacuum_vacuum_scale_factor'),
                                current_setting('autovacuum_vacuum_scale_factor')::float8) AS scale
                  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE c.relkind IN ('r', 'm') AND {user_schema})
            SELECT s.relid::regclass::text AS table, s.n_live_tup AS live, s.n_dead_tup AS dead,
                   (o.base + o.scale * greatest(o.reltuples, 0))::bigint AS trigger_at,
                   greatest(s.last_vacuum, s.last_autovacuum) AS last_vacuum,
                   extract(epoch FROM clock_timestamp() - greatest(s.last_vacuum, s.last_autovacuum))
                       AS seconds_since,
                   coalesce(o.enabled, 'true') = 'false' AS disabled
              FROM pg_stat_user_tables s JOIN options o ON o.oid = s.relid
             WHERE coalesce(o.enabled, 'true') = 'false'
                OR (s.n_dead_tup > o.base + o.scale * greatest(o.reltuples, 0)
                    AND (greatest(s.last_vacuum, s.last_autovacuum) IS NULL
                         OR clock_timestamp() - greatest(s.last_vacuum, s.last_autovacuum)
                            > make_interval(secs => %s)))
             ORDER BY s.n_dead_tup DESC""").format(user_schema=USER_SCHEMA),
        [t.autovacuum_lag_s],
    )
    for row in rows:
        row["last_vacuum"] = row["last_vacuum"].isoformat() if row["last_vacuum"] else "never"
        row.pop("seconds_since")
    figures = {**settings_row, "lag_after_s": t.autovacuum_lag_s}
    if not settings_row["autovacuum"] or not settings_row["track_counts"]:
        return Check(
            "autovacuum",
            "fail",
            "autovacuum is off (or track_counts, which it needs): dead rows pile up, wraparound approaches",
            figures,
            "Set autovacuum = on and track_counts = on (postgresql.conf) and reload.",
            rows,
        )
    return found(
        "autovacuum",
        rows,
        "warn",
        "tables past their autovacuum trigger and not vacuumed for a day, or with autovacuum disabled",
        why="Dead rows bloat the table and its indexes and slow every scan.",
        remedy="VACUUM (VERBOSE, ANALYZE) <table>; if it keeps falling behind, lower the table's "
        "autovacuum_vacuum_scale_factor or raise autovacuum_vacuum_cost_limit; look for long transactions.",
        **figures,
    )


def check_sequences(db: Db) -> Check:
    t = db.thresholds
    # The column a sequence feeds: its owner (serial, identity) or any column whose default calls it.
    sequences = db.rows(
        sql.SQL("""SELECT c.oid::regclass::text AS sequence, s.seqmax AS max_value, s.seqmin AS min_value,
                   s.seqincrement AS increment,
                   CASE WHEN has_sequence_privilege(c.oid, 'SELECT,USAGE')
                        THEN pg_sequence_last_value(c.oid) END AS last_value,
                   (SELECT string_agg(a.attrelid::regclass::text || '.' || a.attname, ', ')
                      FROM pg_attribute a WHERE (a.attrelid, a.attnum) IN (
                           SELECT d.refobjid, d.refobjsubid::int2 FROM pg_depend d
                            WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                              AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0
                           UNION
                           SELECT ad.adrelid, ad.adnum FROM pg_depend d
                             JOIN pg_attrdef ad ON ad.oid = d.objid
                            WHERE d.classid = 'pg_attrdef'::regclass AND d.refobjid = c.oid)) AS columns,
                   (SELECT array_agg(DISTINCT format_type(a.atttypid, NULL))
                      FROM pg_attribute a WHERE (a.attrelid, a.attnum) IN (
                           SELECT d.refobjid, d.refobjsubid::int2 FROM pg_depend d
                            WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                              AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0
                           UNION
                           SELECT ad.adrelid, ad.adnum FROM pg_depend d
                             JOIN pg_attrdef ad ON ad.oid = d.objid
                            WHERE d.classid = 'pg_attrdef'::regclass AND d.refobjid = c.oid))::text[]
                       AS column_types
              FROM pg_sequence s
              JOIN pg_class c ON c.oid = s.seqrelid
              JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE {user_schema}""").format(user_schema=USER_SCHEMA)
    )
    rows, highest = [], 0.0
    for seq in sequences:
        if seq["last_value"] is None:
            continue  # never used
        ascending = seq["increment"] > 0
        column_limits = [TYPE_MAX[kind] for kind in seq["column_types"] or () if kind in TYPE_MAX]
        if ascending:
            limit = min([seq["max_value"], *column_limits])
            used = seq["last_value"] / limit if limit > 0 else 1.0
        else:
            limit = max([seq["min_value"], *(-value - 1 for value in column_limits)])
            used = seq["last_value"] / limit if limit < 0 else 1.0
        highest = max(highest, used)
        status = graded(used, t.sequence_warn, t.sequence_fail)
        if status != "ok":
            rows.append(
                {
                    "sequence": seq["sequence"],
                    "feeds": seq["columns"] or "",
                    "column_types": ", ".join(seq["column_types"] or ()),
                    "last_value": seq["last_value"],
                    "limit": limit,
                    "used": round(used, 4),
                    "status": status,
                }
            )
    figures = {"sequences": len(sequences), "highest_used": round(highest, 6)}
    if not rows:
        return Check("sequences", "ok", f"every sequence below {t.sequence_warn:.0%} of its limit", figures)
    rows.sort(key=lambda row: -row["used"])
    return Check(
        "sequences",
        worst(row["status"] for row in rows),
        f"{len(rows)} sequences or identity columns near their limit (the column type's, when smaller)",
        figures,
        "ALTER the column to bigint (and ALTER SEQUENCE … AS bigint) before it runs out; on a large table "
        "do it through a new column and a backfill, not one rewriting ALTER.",
        rows,
    )
