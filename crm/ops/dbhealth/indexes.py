"""Index checks: invalid, duplicate, redundant and unused indexes, and foreign keys without one."""

from __future__ import annotations

from typing import Any

from psycopg import sql

from crm.ops.dbhealth.base import USER_SCHEMA, Check, Db, Status, found, mb


def _indexes(db: Db) -> list[dict[str, Any]]:
    """Every user index with what it takes to compare two of them: keys, INCLUDE columns, operator
    classes, collations, options (DESC, NULLS FIRST) and predicate, as PostgreSQL prints them."""
    return db.rows(
        sql.SQL("""SELECT i.indexrelid AS oid, i.indrelid AS table_oid, i.indexrelid::regclass::text AS index,
                   i.indrelid::regclass::text AS table, am.amname AS method, i.indisunique AS is_unique,
                   i.indisprimary AS is_primary, i.indisvalid AS is_valid, i.indisready AS is_ready,
                   ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true)
                           FROM generate_series(1, i.indnkeyatts) k) AS keys,
                   ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true)
                           FROM generate_series(i.indnkeyatts + 1, i.indnatts) k) AS included,
                   (i.indclass::oid[])[0:i.indnkeyatts - 1] AS opclasses,
                   (i.indcollation::oid[])[0:i.indnkeyatts - 1] AS collations,
                   (i.indoption::int2[])[0:i.indnkeyatts - 1] AS options,
                   pg_get_expr(i.indpred, i.indrelid) AS predicate,
                   EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid
                              AND k.contype IN ('p', 'u', 'x')) AS backs_constraint,
                   pg_relation_size(i.indexrelid) AS bytes,
                   coalesce(s.idx_scan, 0) AS scans,
                   pg_get_indexdef(i.indexrelid) AS definition
              FROM pg_index i
              JOIN pg_class c ON c.oid = i.indexrelid
              JOIN pg_namespace n ON n.oid = c.relnamespace
              JOIN pg_am am ON am.oid = c.relam
              LEFT JOIN pg_stat_all_indexes s ON s.indexrelid = i.indexrelid
             WHERE {user_schema}
             ORDER BY i.indrelid, i.indexrelid""").format(user_schema=USER_SCHEMA)
    )


def _columns_key(index: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(zip(index["keys"], index["opclasses"], index["collations"], index["options"], strict=True))


def check_invalid_indexes(db: Db) -> Check:
    building = {
        row["index_relid"]
        for row in db.rows("SELECT index_relid FROM pg_stat_progress_create_index WHERE index_relid <> 0")
    }
    rows = [
        {
            "index": index["index"],
            "table": index["table"],
            "size": mb(index["bytes"]),
            "being_built": index["oid"] in building,
            "definition": index["definition"],
        }
        for index in _indexes(db)
        if not (index["is_valid"] and index["is_ready"])
    ]
    # An index that CREATE INDEX CONCURRENTLY is building right now is invalid until it finishes.
    status: Status = "fail" if any(not row["being_built"] for row in rows) else "warn"
    return found(
        "invalid_indexes",
        rows,
        status,
        "invalid indexes",
        why="A failed CREATE INDEX CONCURRENTLY leaves one: written on every change, never read, and a "
        "unique one enforces nothing.",
        remedy="REINDEX INDEX CONCURRENTLY <index>; or DROP INDEX CONCURRENTLY <index> and create it again.",
    )


def _duplicates(indexes: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(dropped, kept) pairs of indexes identical in every respect; keep the constraint's, then the oldest."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for index in indexes:
        if index["is_valid"]:
            key = (
                index["table_oid"],
                index["method"],
                _columns_key(index),
                tuple(sorted(index["included"])),
                index["predicate"],
                index["is_unique"],
            )
            groups.setdefault(key, []).append(index)
    pairs = []
    for group in groups.values():
        group.sort(key=lambda index: (not index["backs_constraint"], index["oid"]))
        pairs += [(extra, group[0]) for extra in group[1:]]
    return pairs


def check_duplicate_indexes(db: Db) -> Check:
    pairs = _duplicates(_indexes(db))
    rows = [
        {
            "index": extra["index"],
            "same_as": kept["index"],
            "table": extra["table"],
            "size": mb(extra["bytes"]),
        }
        for extra, kept in pairs
    ]
    return found(
        "duplicate_indexes",
        rows,
        "warn",
        "duplicate indexes",
        why="Same table, columns, options and predicate as another: each copy costs every write and cache.",
        remedy="DROP INDEX CONCURRENTLY <index> (through a migration).",
        wasted=mb(sum(extra["bytes"] for extra, _ in pairs)),
    )


def _covers(short: dict[str, Any], long: dict[str, Any]) -> bool:
    """Whether btree `long` answers every lookup `short` does, so `short` only costs writes."""
    if short["oid"] == long["oid"] or short["table_oid"] != long["table_oid"]:
        return False
    if not (short["method"] == long["method"] == "btree" and short["is_valid"] and long["is_valid"]):
        return False
    if short["predicate"] != long["predicate"] or short["is_unique"] or short["backs_constraint"]:
        return False
    short_keys, long_keys = _columns_key(short), _columns_key(long)
    if long_keys[: len(short_keys)] != short_keys:
        return False
    return set(short["included"]) <= set(long["keys"]) | set(long["included"])


def check_redundant_indexes(db: Db) -> Check:
    indexes = _indexes(db)
    duplicate = {extra["oid"] for extra, _ in _duplicates(indexes)}
    by_table: dict[int, list[dict[str, Any]]] = {}
    for index in indexes:
        by_table.setdefault(index["table_oid"], []).append(index)
    rows = []
    for siblings in by_table.values():
        for short in siblings:
            if short["oid"] in duplicate:
                continue  # reported as a duplicate
            cover = next(
                (long for long in siblings if long["oid"] not in duplicate and _covers(short, long)), None
            )
            if cover is not None:
                rows.append(
                    {
                        "index": short["index"],
                        "covered_by": cover["index"],
                        "table": short["table"],
                        "size": mb(short["bytes"]),
                        "definition": short["definition"],
                    }
                )
    return found(
        "redundant_indexes",
        rows,
        "warn",
        "redundant btree indexes",
        why="Their columns lead another btree index with the same predicate, which answers the same lookups.",
        remedy="DROP INDEX CONCURRENTLY <index> after checking no query needs its smaller size.",
    )


def _stats_window(db: Db) -> dict[str, Any]:
    row = db.one(
        """SELECT stats_reset, extract(epoch FROM clock_timestamp() - stats_reset) / 86400 AS days
             FROM pg_stat_database WHERE datname = current_database()"""
    )
    reset = row.get("stats_reset")
    return {
        "stats_reset": reset.isoformat() if reset else "never",
        "stats_days": round(float(row["days"]), 1) if row.get("days") is not None else None,
    }


def check_unused_indexes(db: Db) -> Check:
    window = _stats_window(db)
    rows = [
        {
            "index": index["index"],
            "table": index["table"],
            "size": mb(index["bytes"]),
            "bytes": index["bytes"],
        }
        for index in _indexes(db)
        if index["scans"] == 0
        and index["is_valid"]
        and not index["is_unique"]
        and not index["backs_constraint"]
    ]
    rows.sort(key=lambda row: -row["bytes"])
    since = (
        f"since the statistics reset of {window['stats_reset'][:19]} ({window['stats_days']} days)"
        if window["stats_reset"] != "never"
        else "since the statistics began (never reset)"
    )
    check = found(
        "unused_indexes",
        rows,
        "warn",
        f"indexes never scanned {since}",
        why="An index nobody reads still costs every insert and update, and cache.",
        remedy="A few days of real traffic before judging (and the replicas' own statistics: scans there do not "
        "count here); then DROP INDEX CONCURRENTLY through a migration.",
        total=mb(sum(row["bytes"] for row in rows)),
        **window,
    )
    return check


def check_foreign_keys_without_index(db: Db) -> Check:
    rows = db.rows(
        sql.SQL("""SELECT k.conrelid::regclass::text AS table, k.conname AS constraint,
                   k.confrelid::regclass::text AS references,
                   ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(attnum, ord)
                           JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum
                          ORDER BY u.ord)::text[] AS columns,
                   greatest(c.reltuples, 0)::bigint AS rows
              FROM pg_constraint k
              JOIN pg_class c ON c.oid = k.conrelid
              JOIN pg_namespace n ON n.oid = c.relnamespace
              -- A key that holds the tenant, (x_id, tenant_id): x_id alone finds the referencing rows.
              CROSS JOIN LATERAL (
                   SELECT array_agg(a.attnum) FILTER (
                              WHERE cardinality(k.conkey) = 1 OR a.attname <> 'tenant_id')::int2[] AS lookup
                     FROM unnest(k.conkey) u(attnum)
                     JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum) l
             WHERE k.contype = 'f' AND {user_schema}
               AND NOT EXISTS (
                   SELECT 1 FROM pg_index i
                    WHERE i.indrelid = k.conrelid AND i.indisvalid
                      -- A partial index on `x IS NOT NULL` serves the key's `x = $1` lookups too (a sparse
                      -- key: merged_into, ADR 0029).
                      AND (i.indpred IS NULL
                           OR (cardinality(l.lookup) = 1
                               AND pg_get_expr(i.indpred, i.indrelid) = (
                                   SELECT '(' || quote_ident(a.attname) || ' IS NOT NULL)' FROM pg_attribute a
                                    WHERE a.attrelid = k.conrelid AND a.attnum = l.lookup[1])))
                      AND (i.indkey::int2[])[0:cardinality(l.lookup) - 1] @> l.lookup
                      AND (i.indkey::int2[])[0:cardinality(l.lookup) - 1] <@ l.lookup)
             ORDER BY 1, 2""").format(user_schema=USER_SCHEMA)
    )
    return found(
        "foreign_keys_without_index",
        rows,
        "warn",
        "foreign keys without an index leading with their columns",
        why="A delete or key change in the referenced table scans the whole referencing table.",
        remedy="CREATE INDEX CONCURRENTLY on the referencing columns, or a composite index that starts with them.",
    )
