"""Storage checks: table and btree bloat estimated from pg_stats, the buffer cache hit rate."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from psycopg import sql

from crm.ops.dbhealth.base import USER_SCHEMA, Check, Db, Status, mb, worst


def _maxalign(size: float, align: int = 8) -> float:
    return math.ceil(size / align) * align


def estimate_heap_pages(
    tuples: float, widths: Sequence[tuple[float, float]], block_size: int, fillfactor: int
) -> int:
    """Pages a freshly packed heap would take: per row a 23-byte header (plus a null bitmap when a
    column has NULLs), the columns' average widths, MAXALIGN padding and a 4-byte line pointer."""
    has_nulls = any(null_frac > 0 for _, null_frac in widths)
    header = _maxalign(23 + (math.ceil(len(widths) / 8) if has_nulls else 0))
    data = sum(width * (1 - null_frac) for width, null_frac in widths)
    per_tuple = _maxalign(header + data) + 4
    per_page = max(1, math.floor((block_size - 24) * fillfactor / 100 / per_tuple))
    return math.ceil(tuples / per_page)


def estimate_btree_pages(
    tuples: float, widths: Sequence[tuple[float, float]], block_size: int, fillfactor: int
) -> int:
    """Leaf pages a freshly built btree would take (plus its meta page): per entry an 8-byte tuple
    header, a 4-byte null bitmap when a key can be NULL, the keys' widths, MAXALIGN and a line pointer;
    each page loses 24 bytes of header and 16 of btree special space. Deduplication can only make
    the real index smaller, so it never shows as bloat."""
    has_nulls = any(null_frac > 0 for _, null_frac in widths)
    data = sum(width * (1 - null_frac) for width, null_frac in widths)
    per_tuple = _maxalign(8 + (4 if has_nulls else 0) + data) + 4
    per_page = max(1, math.floor((block_size - 40) * fillfactor / 100 / per_tuple))
    return 1 + math.ceil(tuples / per_page)


def check_bloat(db: Db) -> Check:
    t = db.thresholds
    block_size = int(db.one("SELECT current_setting('block_size')::int AS bs")["bs"])
    # Column widths from pg_stats: a table's own columns, and for an index each key's column (or,
    # for an expression, the statistics ANALYZE keeps under the index's name).
    relations = db.rows(
        sql.SQL("""SELECT c.oid, c.oid::regclass::text AS name, c.relkind AS kind, c.relpages AS pages,
                   c.reltuples AS tuples, am.amname AS method,
                   coalesce((SELECT option_value::int FROM pg_options_to_table(c.reloptions)
                              WHERE option_name = 'fillfactor'),
                            CASE c.relkind WHEN 'i' THEN 90 ELSE 100 END) AS fillfactor,
                   ARRAY(SELECT coalesce(s.avg_width, -1)::float8
                           FROM pg_attribute a
                           LEFT JOIN pg_index i ON c.relkind = 'i' AND i.indexrelid = c.oid
                           LEFT JOIN pg_attribute ta ON ta.attrelid = i.indrelid
                                AND ta.attnum = (i.indkey::int2[])[a.attnum - 1] AND ta.attnum > 0
                           LEFT JOIN pg_class tc ON tc.oid = i.indrelid
                           LEFT JOIN pg_namespace tn ON tn.oid = tc.relnamespace
                           LEFT JOIN pg_stats s
                                  ON (ta.attname IS NOT NULL AND s.schemaname = tn.nspname
                                      AND s.tablename = tc.relname AND s.attname = ta.attname)
                                  OR (ta.attname IS NULL AND s.schemaname = n.nspname
                                      AND s.tablename = c.relname AND s.attname = a.attname)
                          WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                          ORDER BY a.attnum) AS widths,
                   ARRAY(SELECT coalesce(s.null_frac, 0)::float8
                           FROM pg_attribute a
                           LEFT JOIN pg_index i ON c.relkind = 'i' AND i.indexrelid = c.oid
                           LEFT JOIN pg_attribute ta ON ta.attrelid = i.indrelid
                                AND ta.attnum = (i.indkey::int2[])[a.attnum - 1] AND ta.attnum > 0
                           LEFT JOIN pg_class tc ON tc.oid = i.indrelid
                           LEFT JOIN pg_namespace tn ON tn.oid = tc.relnamespace
                           LEFT JOIN pg_stats s
                                  ON (ta.attname IS NOT NULL AND s.schemaname = tn.nspname
                                      AND s.tablename = tc.relname AND s.attname = ta.attname)
                                  OR (ta.attname IS NULL AND s.schemaname = n.nspname
                                      AND s.tablename = c.relname AND s.attname = a.attname)
                          WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                          ORDER BY a.attnum) AS null_fracs
              FROM pg_class c
              JOIN pg_namespace n ON n.oid = c.relnamespace
              LEFT JOIN pg_am am ON am.oid = c.relam
             WHERE {user_schema} AND c.reltuples >= 0 AND c.relpages::bigint * %s >= %s
               AND (c.relkind IN ('r', 'm') OR (c.relkind = 'i' AND am.amname = 'btree'))""").format(
            user_schema=USER_SCHEMA
        ),
        [block_size, min(t.bloat_warn_bytes, t.bloat_fail_bytes)],
    )
    rows, unknown = [], []
    for rel in relations:
        widths = list(zip(rel["widths"], rel["null_fracs"], strict=True))
        if not widths or any(width < 0 for width, _ in widths):
            unknown.append(rel["name"])  # never analyzed, or a column without statistics
            continue
        estimate = estimate_btree_pages if rel["kind"] == "i" else estimate_heap_pages
        expected = estimate(rel["tuples"], widths, block_size, rel["fillfactor"])
        wasted = max(0, rel["pages"] - expected) * block_size
        ratio = wasted / (rel["pages"] * block_size) if rel["pages"] else 0.0
        status: Status = (
            "fail"
            if ratio >= t.bloat_fail_ratio and wasted >= t.bloat_fail_bytes
            else "warn"
            if ratio >= t.bloat_warn_ratio and wasted >= t.bloat_warn_bytes
            else "ok"
        )
        if status != "ok":
            rows.append(
                {
                    "relation": rel["name"],
                    "kind": "index" if rel["kind"] == "i" else "table",
                    "status": status,
                    "size": mb(rel["pages"] * block_size),
                    "wasted": mb(wasted),
                    "wasted_ratio": round(ratio, 2),
                }
            )
    rows.sort(key=lambda row: -row["wasted_ratio"])
    figures = {"estimated": len(relations) - len(unknown), "without_statistics": len(unknown)}
    if not rows:
        return Check(
            "bloat",
            "ok",
            f"no table or btree index estimated past {t.bloat_warn_ratio:.0%} bloat and {mb(t.bloat_warn_bytes)}",
            figures,
        )
    return Check(
        "bloat",
        worst(row["status"] for row in rows),
        f"{len(rows)} tables or indexes estimated bloated (from pg_stats: an estimate, not a measurement)",
        figures,
        "Confirm with pgstattuple; then REINDEX INDEX CONCURRENTLY for an index, pg_repack (or VACUUM FULL "
        "in a maintenance window) for a table; and find why autovacuum fell behind.",
        rows,
    )


def check_cache_hit_rate(db: Db) -> Check:
    t = db.thresholds
    db.fresh_activity()
    row = db.one(
        """SELECT (SELECT coalesce(sum(heap_blks_hit), 0) FROM pg_statio_user_tables)::bigint AS heap_hit,
                  (SELECT coalesce(sum(heap_blks_read), 0) FROM pg_statio_user_tables)::bigint AS heap_read,
                  (SELECT coalesce(sum(idx_blks_hit), 0) FROM pg_statio_user_indexes)::bigint AS index_hit,
                  (SELECT coalesce(sum(idx_blks_read), 0) FROM pg_statio_user_indexes)::bigint AS index_read,
                  current_setting('shared_buffers') AS shared_buffers"""
    )
    figures: dict[str, Any] = {"shared_buffers": row["shared_buffers"], "min_reads": t.cache_min_reads}
    statuses: list[Status] = []
    judged = []
    for kind in ("heap", "index"):
        hit, read = row[f"{kind}_hit"], row[f"{kind}_read"]
        figures[f"{kind}_blocks"] = hit + read
        if hit + read < t.cache_min_reads:
            figures[f"{kind}_hit_rate"] = None
            continue
        rate = hit / (hit + read)
        figures[f"{kind}_hit_rate"] = round(rate, 4)
        judged.append(f"{kind} {rate:.2%}")
        statuses.append("warn" if rate < t.cache_hit_warn else "ok")
    if not judged:
        return Check("cache_hit_rate", "ok", "too few reads yet to judge the cache", figures)
    status = worst(statuses)
    return Check(
        "cache_hit_rate",
        status,
        f"buffer cache hit rate since the statistics reset: {', '.join(judged)} "
        f"(shared_buffers {row['shared_buffers']})",
        figures,
        ""
        if status == "ok"
        else "If real traffic (not a bulk load: SELECT pg_stat_reset() and measure again) misses the cache, "
        "the working set does not fit in shared_buffers: raise it (about 25 % of RAM), add RAM, or find "
        "the scans reading cold data (pg_stat_statements, analyze_queries).",
        why="Every miss is a read from the OS cache or the disk.",
    )
