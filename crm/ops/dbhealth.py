"""Database health checks: each reads the catalog or statistics and says ok, warn or fail, with a remedy.

Run by `manage.py dbhealth` on the DATABASE_URL connection (the owner; a superuser sees everything,
anyone else misses other roles' sessions in pg_stat_activity and statistics of tables they cannot read).
Every check only reads; each runs in its own savepoint with a statement and lock timeout, so one that
cannot run is reported as such and never blocks behind a migration's lock.

Thresholds (class Thresholds; the defaults are what the command uses):

- transaction-ID / multixact age: warn at 50 %, fail at 80 % of 2^31 (the hard stop is at ~2^31 − 3 M);
- sequences and identity columns: warn at 50 %, fail at 80 % of the lower of the sequence's maximum
  and its column type's (a bigint sequence feeding an integer column stops at 2^31 − 1);
- buffer cache hit rate (heap and index, since the statistics reset): warn below 0.99, judged only
  after 100 000 block reads; never fails (a bulk load or a one-off report scan drags it down too);
- bloat estimates (heap and btree, from pg_stats): warn at 50 % wasted and 10 MB, fail at 80 % and 1 GB;
- connections: warn at 80 %, fail at 95 % of max_connections less the reserved slots;
- idle in transaction: warn after 1 minute, fail after 10; active queries: warn after 1 minute, fail
  after 30; blocked queries: warn after 10 seconds, fail after 1 minute;
- replication: lag warn at 30 s or 256 MB, fail at 5 min or 4 GB; an inactive slot retaining 1 GB
  of WAL warns, 10 GB fails;
- indexes: invalid fails; duplicate, redundant (a btree's keys a leading prefix of another's, same
  predicate) and unused (idx_scan = 0 since the statistics reset, not backing a constraint) warn;
- schema: foreign keys without a covering index, tables without a primary key, NOT VALID constraints
  warn; autovacuum lag warns, autovacuum switched off fails;
- row level security (tenant tables: the Django models with a tenant, the firm, history, admin log,
  users and sessions, and any table with a tenant_id column): RLS off, not forced, an always-true
  policy, a view or materialized view over tenant data that the runtime role reads as its owner, a
  SECURITY DEFINER function without a pinned search_path, and a runtime role able to bypass RLS fail;
  a command without a policy (fail-closed, but breaks the one-policy-per-command rule), a per-row
  current_setting(), a policy that never mentions tenant_id, and a definer function whose search_path
  leaves pg_temp first or that PUBLIC may run warn.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from django.apps import apps
from django.db import DatabaseError, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from pglast import ast, parse_sql
from pglast.parser import ParseError
from pglast.visitors import Ancestor, Visitor
from psycopg import sql

from crm import rls

Status = Literal["ok", "warn", "fail"]
SEVERITY: dict[Status, int] = {"ok": 0, "warn": 1, "fail": 2}
XID_LIMIT = 2**31
TYPE_MAX = {"smallint": 2**15 - 1, "integer": 2**31 - 1, "bigint": 2**63 - 1}
COMMANDS = ("SELECT", "INSERT", "UPDATE", "DELETE")
# Catalog rows of user objects only: not the system's, not TOAST, not other sessions' temporary schemas.
USER_SCHEMA = sql.SQL(
    "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'"
)


@dataclass(frozen=True)
class Thresholds:
    """Where a figure turns warn or fail (module docstring). Tests pass smaller ones to plant faults cheaply."""

    wraparound_warn: float = 0.5
    wraparound_fail: float = 0.8
    sequence_warn: float = 0.5
    sequence_fail: float = 0.8
    cache_hit_warn: float = 0.99
    cache_min_reads: int = 100_000
    bloat_warn_ratio: float = 0.5
    bloat_warn_bytes: int = 10 * 2**20
    bloat_fail_ratio: float = 0.8
    bloat_fail_bytes: int = 2**30
    connections_warn: float = 0.8
    connections_fail: float = 0.95
    idle_in_transaction_warn_s: float = 60
    idle_in_transaction_fail_s: float = 600
    long_query_warn_s: float = 60
    long_query_fail_s: float = 1800
    blocked_warn_s: float = 10
    blocked_fail_s: float = 60
    replication_lag_warn_s: float = 30
    replication_lag_fail_s: float = 300
    replication_lag_warn_bytes: int = 256 * 2**20
    replication_lag_fail_bytes: int = 4 * 2**30
    slot_retained_warn_bytes: int = 2**30
    slot_retained_fail_bytes: int = 10 * 2**30
    autovacuum_lag_s: float = 86_400
    statement_timeout_ms: int = 30_000
    lock_timeout_ms: int = 2_000


@dataclass
class Check:
    """One check's verdict: figures to judge it by, the rows behind it, and what to do about them."""

    name: str
    status: Status
    summary: str
    figures: dict[str, Any] = field(default_factory=dict)
    remedy: str = ""
    details: list[dict[str, Any]] = field(default_factory=list)
    why: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TenantTable:
    """A table holding tenant data, and what of the RLS rules it is deliberately exempt from."""

    oid: int
    name: str
    source: str
    not_forced_because: str = ""
    always_true_allowed: frozenset[str] = frozenset()


# Deliberate departures from "enabled, forced, no always-true policy", each with its reason (see
# crm/migrations/0003_user_and_session_security.py). Anything else the lints find is a finding.
NOT_FORCED = {
    "crm_user": "the owner's SECURITY DEFINER sign-in function crm_auth_user() looks users up before anyone is known",
    "django_session": "the owner's clearsessions must reach every expired session",
}
ALWAYS_TRUE_ALLOWED = {
    "django_session": (
        frozenset({"INSERT"}),
        "a new session's key is chosen when it is saved, after the request set crm.session_key",
    ),
}


class Db:
    """What a check needs: the owner's cursor, the thresholds and who the runtime role is."""

    def __init__(self, connection: BaseDatabaseWrapper, thresholds: Thresholds) -> None:
        self.connection = connection
        self.thresholds = thresholds
        self.runtime_role = rls.runtime_role()

    def rows(self, query: str | sql.Composable, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.connection.cursor() as cursor:
            if isinstance(query, sql.Composable):
                query = query.as_string(cursor.connection)
            cursor.execute(query, params)
            names = [column.name for column in cursor.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def one(self, query: str | sql.Composable, params: Sequence[Any] = ()) -> dict[str, Any]:
        found = self.rows(query, params)
        return found[0] if found else {}

    def fresh_activity(self) -> None:
        """pg_stat_* views are read once per transaction and then cached: read them anew."""
        self.rows("SELECT pg_stat_clear_snapshot()")


def worst(statuses: Iterable[Status]) -> Status:
    return max(statuses, key=lambda status: SEVERITY[status], default="ok")


def graded(value: float, warn: float, fail: float) -> Status:
    return "fail" if value >= fail else "warn" if value >= warn else "ok"


def mb(size: float | int | None) -> str:
    return f"{(size or 0) / 2**20:,.1f} MB"


def found(
    name: str,
    rows: list[dict[str, Any]],
    status: Status,
    what: str,
    *,
    why: str,
    remedy: str,
    **figures: Any,
) -> Check:
    """The common shape: no rows is ok, otherwise `status` with the rows as details."""
    if not rows:
        return Check(name, "ok", f"no {what}", {"count": 0, **figures})
    return Check(name, status, f"{len(rows)} {what}", {"count": len(rows), **figures}, remedy, rows, why)


# ---------------------------------------------------------------------------------------------------
# Indexes


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
             WHERE k.contype = 'f' AND {user_schema}
               AND NOT EXISTS (
                   SELECT 1 FROM pg_index i
                    WHERE i.indrelid = k.conrelid AND i.indisvalid AND i.indpred IS NULL
                      AND (i.indkey::int2[])[0:cardinality(k.conkey) - 1] @> k.conkey
                      AND (i.indkey::int2[])[0:cardinality(k.conkey) - 1] <@ k.conkey)
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


# ---------------------------------------------------------------------------------------------------
# Schema


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


# ---------------------------------------------------------------------------------------------------
# Storage


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


# ---------------------------------------------------------------------------------------------------
# Vacuum


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


# ---------------------------------------------------------------------------------------------------
# Sessions


def _visibility(db: Db) -> str:
    row = db.one(
        "SELECT rolsuper OR pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER') AS sees_all"
        " FROM pg_roles WHERE rolname = current_user"
    )
    return (
        "all sessions"
        if row.get("sees_all")
        else "own role's sessions only (not superuser nor pg_read_all_stats)"
    )


def check_connections(db: Db) -> Check:
    t = db.thresholds
    db.fresh_activity()
    row = db.one(
        """SELECT count(*) FILTER (WHERE backend_type = 'client backend')::int AS clients,
                  count(*) FILTER (WHERE backend_type = 'client backend'
                                   AND datname = current_database())::int AS this_database,
                  count(*) FILTER (WHERE datname = current_database() AND state = 'active')::int AS active,
                  count(*) FILTER (WHERE datname = current_database() AND state = 'idle')::int AS idle,
                  count(*) FILTER (WHERE datname = current_database()
                                   AND state LIKE 'idle in transaction%%')::int AS idle_in_transaction,
                  current_setting('max_connections')::int AS max_connections,
                  current_setting('superuser_reserved_connections')::int
                  + coalesce(current_setting('reserved_connections', true), '0')::int AS reserved
             FROM pg_stat_activity"""
    )
    available = max(1, row["max_connections"] - row["reserved"])
    used = row["clients"] / available
    status = graded(used, t.connections_warn, t.connections_fail)
    return Check(
        "connections",
        status,
        f"{row['clients']} of {available} connections in use ({used:.0%}); {row['this_database']} to this "
        f"database: {row['active']} active, {row['idle']} idle, {row['idle_in_transaction']} idle in transaction",
        {**row, "used": round(used, 3), "visibility": _visibility(db)},
        ""
        if status == "ok"
        else "Put PgBouncer (transaction mode) in front, lower each app server's pool, or raise max_connections.",
    )


def _sessions(
    db: Db, condition: sql.Composable, clock: str, params: Sequence[Any] = ()
) -> list[dict[str, Any]]:
    """Other sessions of this database matching `condition`, with how long (`clock`, a column of
    pg_stat_activity) in seconds."""
    db.fresh_activity()
    query = sql.SQL(
        """SELECT pid, usename AS user, application_name AS application, state,
                   round(extract(epoch FROM clock_timestamp() - {clock})::numeric, 1)::float8 AS seconds,
                   wait_event_type AS waiting_on, left(query, 200) AS query
              FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()
               AND backend_type = 'client backend' AND {condition}
             ORDER BY {clock}"""
    ).format(clock=sql.Identifier(clock), condition=condition)
    return db.rows(query, params)


def _timed(
    name: str, rows: list[dict[str, Any]], warn: float, fail: float, what: str, why: str, remedy: str
) -> Check:
    for row in rows:
        row["status"] = graded(row["seconds"], warn, fail)
    rows = [row for row in rows if row["status"] != "ok"]
    figures = {"warn_after_s": warn, "fail_after_s": fail}
    if not rows:
        return Check(name, "ok", f"no {what} longer than {warn:g} s", figures)
    return Check(
        name, worst(row["status"] for row in rows), f"{len(rows)} {what}", figures, remedy, rows, why
    )


def check_idle_in_transaction(db: Db) -> Check:
    t = db.thresholds
    rows = _sessions(db, sql.SQL("state LIKE 'idle in transaction%%'"), "state_change")
    return _timed(
        "idle_in_transaction",
        rows,
        t.idle_in_transaction_warn_s,
        t.idle_in_transaction_fail_s,
        "sessions idle in a transaction",
        "They keep their locks and hold back vacuum's horizon.",
        "Find the code path that leaves transactions open; SELECT pg_terminate_backend(pid) for a stuck one; "
        "set idle_in_transaction_session_timeout.",
    )


def check_long_queries(db: Db) -> Check:
    t = db.thresholds
    rows = _sessions(
        db, sql.SQL("state = 'active' AND cardinality(pg_blocking_pids(pid)) = 0"), "query_start"
    )
    return _timed(
        "long_queries",
        rows,
        t.long_query_warn_s,
        t.long_query_fail_s,
        "queries running long (not counting blocked ones)",
        "They hold back vacuum's horizon and their locks.",
        "EXPLAIN the query (analyze_queries); SELECT pg_cancel_backend(pid) if it must stop; set "
        "statement_timeout for the application's role.",
    )


def check_blocked_queries(db: Db) -> Check:
    t = db.thresholds
    rows = _sessions(db, sql.SQL("cardinality(pg_blocking_pids(pid)) > 0"), "query_start")
    blockers = {
        row["pid"]: row
        for row in db.rows(
            "SELECT pid, state, left(query, 200) AS query FROM pg_stat_activity WHERE datname = current_database()"
        )
    }
    for row in rows:
        pids = db.one("SELECT pg_blocking_pids(%s) AS pids", [row["pid"]]).get("pids") or []
        row["blocked_by"] = ", ".join(
            f"{pid} ({blockers[pid]['state']}: {blockers[pid]['query'][:60]})"
            if pid in blockers
            else str(pid)
            for pid in pids
        )
    return _timed(
        "blocked_queries",
        rows,
        t.blocked_warn_s,
        t.blocked_fail_s,
        "queries waiting for another session's lock",
        "Requests queue behind the lock; a blocked DDL blocks every later reader of the table too.",
        "End or speed up the blocking session (blocked_by); run DDL with lock_timeout; keep transactions short.",
    )


def check_replication(db: Db) -> Check:
    t = db.thresholds
    db.fresh_activity()
    if db.one("SELECT pg_is_in_recovery() AS standby")["standby"]:
        row = db.one(
            """SELECT extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8 AS lag_s,
                      pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint AS lag_bytes"""
        )
        lag_s, lag_bytes = row["lag_s"] or 0.0, row["lag_bytes"] or 0
        status = worst(
            [
                graded(lag_s, t.replication_lag_warn_s, t.replication_lag_fail_s),
                graded(lag_bytes, t.replication_lag_warn_bytes, t.replication_lag_fail_bytes),
            ]
        )
        return Check(
            "replication",
            status,
            f"this is a standby, {lag_s:.0f} s and {mb(lag_bytes)} behind its primary "
            "(the time lag also grows while the primary is quiet)",
            {"standby": True, "lag_s": lag_s, "lag_bytes": lag_bytes},
            ""
            if status == "ok"
            else "Check the standby's I/O and network, and long queries delaying replay.",
        )
    replicas = db.rows(
        """SELECT application_name AS replica, client_addr::text AS address, state,
                  coalesce(extract(epoch FROM replay_lag), 0)::float8 AS lag_s,
                  coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::bigint AS lag_bytes
             FROM pg_stat_replication"""
    )
    slots = db.rows(
        """SELECT slot_name AS slot, slot_type AS type, active,
                  pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint AS retained_bytes
             FROM pg_replication_slots WHERE NOT active AND restart_lsn IS NOT NULL"""
    )
    rows: list[dict[str, Any]] = []
    for replica in replicas:
        replica["status"] = worst(
            [
                graded(replica["lag_s"], t.replication_lag_warn_s, t.replication_lag_fail_s),
                graded(replica["lag_bytes"], t.replication_lag_warn_bytes, t.replication_lag_fail_bytes),
            ]
        )
        rows.append(replica)
    for slot in slots:
        slot["status"] = graded(
            slot["retained_bytes"], t.slot_retained_warn_bytes, t.slot_retained_fail_bytes
        )
        if slot["status"] != "ok":
            rows.append(slot)
    status = worst(row["status"] for row in rows)
    figures = {"standby": False, "replicas": len(replicas), "inactive_slots": len(slots)}
    if not replicas and status == "ok":
        return Check("replication", "ok", "no replicas (and no inactive slot retaining much WAL)", figures)
    return Check(
        "replication",
        status,
        f"{len(replicas)} replicas, worst replay lag {max((r['lag_s'] for r in replicas), default=0):.0f} s; "
        f"{len(slots)} inactive slots",
        figures,
        ""
        if status == "ok"
        else "A lagging replica: its I/O, network or long queries; an inactive slot keeps WAL forever: "
        "SELECT pg_drop_replication_slot('<slot>') when its consumer is gone.",
        rows,
    )


# ---------------------------------------------------------------------------------------------------
# Row level security lints


def tenant_tables(db: Db) -> list[TenantTable]:
    """The tables holding tenant data: from the Django models (every model with a tenant, the firm
    itself, history, the admin log, users and sessions) and any table with a tenant_id column, so a
    table created by raw SQL is not missed."""
    from django.contrib.admin.models import LogEntry
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.models import Session

    from crm.models import HistoryEntry, Tenant

    sources: dict[str, str] = {}
    for model in apps.get_models():
        if any(f.name == "tenant" and f.related_model is Tenant for f in model._meta.concrete_fields):
            sources[model._meta.db_table] = f"model {model._meta.label}"
    for model in (Tenant, HistoryEntry, LogEntry, get_user_model(), Session):
        sources[model._meta.db_table] = f"model {model._meta.label}"
    tables: dict[int, TenantTable] = {}
    for table, source in sources.items():
        row = db.one("SELECT to_regclass(%s)::oid AS oid, to_regclass(%s)::text AS name", [table, table])
        if row.get("oid") is not None:
            allowed = ALWAYS_TRUE_ALLOWED.get(table, (frozenset(), ""))[0]
            tables[row["oid"]] = TenantTable(
                row["oid"], row["name"], source, NOT_FORCED.get(table, ""), frozenset(allowed)
            )
    for row in db.rows(
        sql.SQL("""SELECT c.oid, c.oid::regclass::text AS name FROM pg_class c
              JOIN pg_namespace n ON n.oid = c.relnamespace
              JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
             WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND {user_schema}""").format(
            user_schema=USER_SCHEMA
        )
    ):
        tables.setdefault(row["oid"], TenantTable(row["oid"], row["name"], "tenant_id column"))
    return sorted(tables.values(), key=lambda table: table.name)


def _rls_state(db: Db, tables: list[TenantTable]) -> dict[int, dict[str, Any]]:
    return {
        row["oid"]: row
        for row in db.rows(
            "SELECT oid, relrowsecurity AS enabled, relforcerowsecurity AS forced FROM pg_class WHERE oid = ANY(%s)",
            [[table.oid for table in tables]],
        )
    }


def _policies(db: Db, tables: list[TenantTable]) -> list[dict[str, Any]]:
    """Policies on the tenant tables that apply to the runtime role (directly, through a role it is a
    member of, or to PUBLIC), as PostgreSQL prints them. `using` and `check` are the conditions inside the
    request-context check (crm.rls.verified), which `verified` lists for each clause that has it."""
    policies = _raw_policies(db, tables)
    for policy in policies:
        policy["verified"] = []
        for part in ("using", "check"):
            inner = rls.unverified(policy[part])
            if inner is not None:
                policy[part] = inner
                policy["verified"].append(part)
    return policies


def _raw_policies(db: Db, tables: list[TenantTable]) -> list[dict[str, Any]]:
    return db.rows(
        """SELECT p.polrelid AS oid, p.polrelid::regclass::text AS table, p.polname AS policy,
                  CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                                WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS command,
                  p.polpermissive AS permissive,
                  pg_get_expr(p.polqual, p.polrelid) AS using, pg_get_expr(p.polwithcheck, p.polrelid) AS check
             FROM pg_policy p
            WHERE p.polrelid = ANY(%s)
              AND EXISTS (SELECT 1 FROM unnest(p.polroles) r
                           WHERE r = 0 OR pg_has_role(%s, r, 'MEMBER'))
            ORDER BY 2, 3""",
        [[table.oid for table in tables], db.runtime_role],
    )


def check_rls_disabled(db: Db) -> Check:
    tables = tenant_tables(db)
    state = _rls_state(db, tables)
    rows = [
        {"table": table.name, "source": table.source} for table in tables if not state[table.oid]["enabled"]
    ]
    return found(
        "rls_disabled",
        rows,
        "fail",
        "tenant tables without row level security",
        why="Every firm's rows reach any request on them.",
        remedy="Declare the table in its app's policies.py, then `manage.py makepolicymigration <app>` "
        "(README: Adding a tenant table safely).",
        tenant_tables=len(tables),
    )


def check_rls_not_forced(db: Db) -> Check:
    tables = tenant_tables(db)
    state = _rls_state(db, tables)
    rows, exempt = [], []
    for table in tables:
        if state[table.oid]["enabled"] and not state[table.oid]["forced"]:
            if table.not_forced_because:
                exempt.append(f"{table.name}: {table.not_forced_because}")
            else:
                rows.append({"table": table.name, "source": table.source})
    return found(
        "rls_not_forced",
        rows,
        "fail",
        "tenant tables with RLS enabled but not forced",
        why="The owner, and so its SECURITY DEFINER functions and commands, bypass the policies.",
        remedy="ALTER TABLE <table> FORCE ROW LEVEL SECURITY (policies.py declarations force by default).",
        exempt=exempt,
    )


def check_rls_command_without_policy(db: Db) -> Check:
    tables = tenant_tables(db)
    state = _rls_state(db, tables)
    covered: dict[int, set[str]] = {}
    for policy in _policies(db, tables):
        if policy["permissive"]:
            commands = set(COMMANDS) if policy["command"] == "ALL" else {policy["command"]}
            covered.setdefault(policy["oid"], set()).update(commands)
    rows = [
        {
            "table": table.name,
            "missing": ", ".join(c for c in COMMANDS if c not in covered.get(table.oid, set())),
        }
        for table in tables
        if state[table.oid]["enabled"] and not set(COMMANDS) <= covered.get(table.oid, set())
    ]
    return found(
        "rls_command_without_policy",
        rows,
        "warn",
        f"tenant tables missing a permissive policy for {db.runtime_role} on some command",
        why="Fail-closed (nobody may run it), but every command should say explicitly who may.",
        remedy="Give every command its own policy (crm.policy_declarations.declare writes `false` for the ones nobody may run).",
    )


class _Expression(Visitor):  # type: ignore[misc]
    """What a policy expression is made of: bare current_setting() calls, column references, calls."""

    def __init__(self) -> None:
        super().__init__()
        self.bare_settings = 0
        self.columns: set[str] = set()
        self.calls = 0
        self.sublinks = 0

    def visit_FuncCall(self, ancestors: Ancestor, node: ast.FuncCall) -> None:
        self.calls += 1
        name = node.funcname[-1].sval if node.funcname else None
        if name == "current_setting" and not any(
            isinstance(step.node, ast.SubLink) for step in _ancestry(ancestors)
        ):
            self.bare_settings += 1

    def visit_ColumnRef(self, ancestors: Ancestor, node: ast.ColumnRef) -> None:
        last = (node.fields or (None,))[-1]
        if isinstance(last, ast.String) and last.sval:
            self.columns.add(last.sval)

    def visit_SubLink(self, ancestors: Ancestor, node: ast.SubLink) -> None:
        self.sublinks += 1


def _ancestry(ancestors: Ancestor) -> Iterable[Ancestor]:
    step: Ancestor | None = ancestors
    while step is not None:
        yield step
        step = step.parent


def analyse_expression(expression: str) -> _Expression:
    """Parse a policy expression (pg_get_expr's text) with PostgreSQL's own parser (pglast)."""
    visitor = _Expression()
    visitor(parse_sql(f"SELECT {expression}"))
    return visitor


def _is_always_true(db: Db, expression: str) -> bool:
    """A constant expression (no column, call or sub-query) that PostgreSQL evaluates to true."""
    try:
        parts = analyse_expression(expression)
    except ParseError:
        return False
    if parts.columns or parts.calls or parts.sublinks:
        return False
    with transaction.atomic(using=db.connection.alias):
        # The expression is the catalog's own (pg_get_expr), checked above to be a constant.
        query = sql.SQL("SELECT ({}) IS TRUE AS always").format(sql.SQL(expression))
        return bool(db.one(query)["always"])


def check_rls_always_true_policy(db: Db) -> Check:
    tables = {table.oid: table for table in tenant_tables(db)}
    rows, exempt = [], []
    for policy in _policies(db, list(tables.values())):
        if not policy["permissive"]:
            continue  # a restrictive policy that admits everything restricts nothing: harmless
        for part in ("using", "check"):
            if policy[part] is not None and _is_always_true(db, policy[part]):
                table = tables[policy["oid"]]
                if policy["command"] in table.always_true_allowed:
                    exempt.append(f"{table.name}.{policy['policy']}: {ALWAYS_TRUE_ALLOWED[table.name][1]}")
                    continue
                rows.append(
                    {
                        "table": table.name,
                        "policy": policy["policy"],
                        "command": policy["command"],
                        "clause": part.upper(),
                    }
                )
    return found(
        "rls_always_true_policy",
        rows,
        "fail",
        "always-true policies on tenant tables",
        why="Permissive policies are OR-ed: this one admits every row of every firm.",
        remedy="Replace the expression with the table's TablePolicy conditions (tenant_id = (SELECT …) AND …).",
        exempt=exempt,
    )


def check_rls_per_row_current_setting(db: Db) -> Check:
    tables = tenant_tables(db)
    rows = []
    for policy in _policies(db, tables):
        for part in ("using", "check"):
            if policy[part] is None:
                continue
            try:
                bare = analyse_expression(policy[part]).bare_settings
            except ParseError:
                continue
            if bare:
                rows.append(
                    {
                        "table": policy["table"],
                        "policy": policy["policy"],
                        "clause": part.upper(),
                        "calls": bare,
                    }
                )
    return found(
        "rls_per_row_current_setting",
        rows,
        "warn",
        "policies calling current_setting() per row",
        why="Not wrapped in a scalar sub-SELECT, it is evaluated for every row and keeps indexes unused.",
        remedy="Wrap each call: (SELECT current_setting('crm.tenant_id', true)) — crm.rls.TENANT and friends do.",
    )


def check_rls_policy_ignores_tenant(db: Db) -> Check:
    tables = tenant_tables(db)
    with_tenant_id = {
        row["oid"]
        for row in db.rows(
            "SELECT attrelid AS oid FROM pg_attribute WHERE attname = 'tenant_id' AND NOT attisdropped"
            " AND attrelid = ANY(%s)",
            [[table.oid for table in tables]],
        )
    }
    rows = []
    for policy in _policies(db, tables):
        if policy["oid"] not in with_tenant_id or not policy["permissive"]:
            continue
        for part in ("using", "check"):
            text = policy[part]
            if text is None or text.strip("() ") == "false":
                continue
            try:
                columns = analyse_expression(text).columns
            except ParseError:
                continue
            if "tenant_id" not in columns:
                rows.append({"table": policy["table"], "policy": policy["policy"], "clause": part.upper()})
    return found(
        "rls_policy_ignores_tenant",
        rows,
        "warn",
        "policies on tables with tenant_id that never compare it",
        why="Nothing in them keeps firms apart.",
        remedy="Start the condition with tenant_id = crm.rls.TENANT.",
    )


def check_rls_unverified_context(db: Db) -> Check:
    tables = tenant_tables(db)
    rows = [
        {"table": policy["table"], "policy": policy["policy"], "clause": part.upper()}
        for policy in _policies(db, tables)
        if policy["permissive"]
        for part in ("using", "check")
        if policy[part] is not None and part not in policy["verified"]
    ]
    return found(
        "rls_unverified_context",
        rows,
        "fail",
        "policies that take the RLS variables without their MAC",
        why="SQL running as the runtime role can set crm.tenant_id itself; only crm_context_ok() tells the "
        "variables crm_request_context() set from forged ones.",
        remedy="Build the condition with crm.rls.verified(…), as crm.policy_declarations.declare does.",
    )


def check_rls_views_bypass(db: Db) -> Check:
    tables = tenant_tables(db)
    rows = db.rows(
        sql.SQL("""SELECT DISTINCT v.oid::regclass::text AS view,
                   CASE v.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END AS kind,
                   pg_get_userbyid(v.relowner) AS owner
              FROM pg_class v
              JOIN pg_namespace n ON n.oid = v.relnamespace
              JOIN pg_rewrite r ON r.ev_class = v.oid
              JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                              AND d.refclassid = 'pg_class'::regclass AND d.refobjid = ANY(%s)
             WHERE v.relkind IN ('v', 'm') AND {user_schema}
               AND has_table_privilege(%s, v.oid, 'SELECT')
               AND (v.relkind = 'm' OR NOT coalesce(
                       (SELECT option_value::bool FROM pg_options_to_table(v.reloptions)
                         WHERE option_name = 'security_invoker'), false))
             ORDER BY 1""").format(user_schema=USER_SCHEMA),
        [[table.oid for table in tables], db.runtime_role],
    )
    return found(
        "rls_views_bypass",
        rows,
        "fail",
        f"views over tenant tables that {db.runtime_role} reads with their owner's rights",
        why="The policies are checked against the owner (or not at all: a materialized view has none).",
        remedy="CREATE VIEW … WITH (security_invoker = true); a materialized view must not be granted to the runtime role.",
    )


def check_security_definer_functions(db: Db) -> Check:
    rows = db.rows(
        sql.SQL("""SELECT p.oid::regprocedure::text AS function,
                   (SELECT substr(setting, 13) FROM unnest(p.proconfig) setting
                     WHERE setting LIKE 'search_path=%%') AS search_path,
                   has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute,
                   has_database_privilege(%s, current_database(), 'TEMPORARY') AS caller_has_temp
              FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE p.prosecdef AND {user_schema}
             ORDER BY 1""").format(user_schema=USER_SCHEMA),
        [db.runtime_role],
    )
    findings = []
    for row in rows:
        path = [part.strip().strip('"') for part in (row["search_path"] or "").split(",") if part.strip()]
        problems: list[tuple[Status, str]] = []
        if not path:
            problems.append(
                ("fail", "no search_path pinned: the caller's search_path picks its tables and operators")
            )
        elif row["caller_has_temp"] and (not path or path[-1] != "pg_temp"):
            # Without pg_temp named last, the session's temporary schema is searched first for tables.
            problems.append(
                (
                    "warn",
                    f"search_path '{row['search_path']}' lets a caller's temporary table shadow its tables: end it with pg_temp",
                )
            )
        if row["public_execute"]:
            problems.append(("warn", "PUBLIC may execute it"))
        for status, problem in problems:
            findings.append({"function": row["function"], "status": status, "problem": problem})
    figures = {"security_definer_functions": len(rows)}
    if not findings:
        return Check(
            "security_definer_functions",
            "ok",
            f"{len(rows)} SECURITY DEFINER functions, each pinned",
            figures,
        )
    return Check(
        "security_definer_functions",
        worst(row["status"] for row in findings),
        f"{len(findings)} problems with SECURITY DEFINER functions",
        figures,
        "ALTER FUNCTION … SET search_path = pg_catalog, public, pg_temp; REVOKE EXECUTE … FROM PUBLIC.",
        findings,
    )


def check_runtime_role(db: Db) -> Check:
    role = db.runtime_role
    row = db.one(
        """SELECT r.rolsuper, r.rolbypassrls,
                  ARRAY(SELECT o.rolname FROM pg_roles o
                         WHERE o.oid <> r.oid AND pg_has_role(r.oid, o.oid, 'MEMBER')
                           AND (o.rolsuper OR o.rolbypassrls))::text[] AS powerful_roles,
                  ARRAY(SELECT c.oid::regclass::text FROM pg_class c
                         WHERE c.relowner = r.oid AND c.relkind IN ('r', 'p', 'v', 'm'))::text[] AS owns
             FROM pg_roles r WHERE r.rolname = %s""",
        [role],
    )
    if not row:
        return Check(
            "runtime_role",
            "fail",
            f"the runtime role {role} does not exist (requests cannot switch to it)",
            {"role": role},
            "manage.py migrate creates it.",
        )
    problems = []
    if row["rolsuper"]:
        problems.append("is superuser")
    if row["rolbypassrls"]:
        problems.append("has BYPASSRLS")
    if row["powerful_roles"]:
        problems.append(f"is a member of {', '.join(row['powerful_roles'])} (superuser or BYPASSRLS)")
    if row["owns"]:
        problems.append(
            f"owns {', '.join(row['owns'])} (an owner is exempt from unforced RLS and may alter it)"
        )
    figures = {"role": role, **row}
    if not problems:
        return Check("runtime_role", "ok", f"{role} cannot bypass row level security", figures)
    return Check(
        "runtime_role",
        "fail",
        f"{role} can bypass row level security: {'; '.join(problems)}",
        figures,
        f"ALTER ROLE {role} NOSUPERUSER NOBYPASSRLS; REVOKE the powerful roles; ALTER … OWNER TO the owner.",
        [{"problem": problem} for problem in problems],
    )


# ---------------------------------------------------------------------------------------------------
# Running them


CHECKS: tuple[Callable[[Db], Check], ...] = (
    check_invalid_indexes,
    check_duplicate_indexes,
    check_redundant_indexes,
    check_unused_indexes,
    check_foreign_keys_without_index,
    check_tables_without_primary_key,
    check_not_valid_constraints,
    check_bloat,
    check_cache_hit_rate,
    check_wraparound,
    check_autovacuum,
    check_sequences,
    check_connections,
    check_idle_in_transaction,
    check_long_queries,
    check_blocked_queries,
    check_replication,
    check_rls_disabled,
    check_rls_not_forced,
    check_rls_command_without_policy,
    check_rls_always_true_policy,
    check_rls_per_row_current_setting,
    check_rls_policy_ignores_tenant,
    check_rls_unverified_context,
    check_rls_views_bypass,
    check_security_definer_functions,
    check_runtime_role,
)
CHECK_NAMES = tuple(check.__name__.removeprefix("check_") for check in CHECKS)


@dataclass
class Report:
    database: str
    server_version: str
    connected_as: str
    superuser: bool
    checks: list[Check]
    seconds: float

    @property
    def status(self) -> Status:
        return worst(check.status for check in self.checks)

    def counts(self) -> dict[str, int]:
        return {status: sum(check.status == status for check in self.checks) for status in SEVERITY}

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "server_version": self.server_version,
            "connected_as": self.connected_as,
            "superuser": self.superuser,
            "status": self.status,
            "counts": self.counts(),
            "seconds": round(self.seconds, 2),
            "checks": [check.as_dict() for check in self.checks],
        }


def run_checks(
    connection: BaseDatabaseWrapper,
    *,
    thresholds: Thresholds | None = None,
    only: Sequence[str] = (),
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Run the checks (all, or those named in `only`) on `connection`, each in its own savepoint."""
    db = Db(connection, thresholds or Thresholds())
    unknown = set(only) - set(CHECK_NAMES)
    if unknown:
        raise ValueError(f"unknown checks: {', '.join(sorted(unknown))}")
    selected = [
        (name, check) for name, check in zip(CHECK_NAMES, CHECKS, strict=True) if not only or name in only
    ]
    started = time.perf_counter()
    results = []
    with transaction.atomic(using=connection.alias):
        about = db.one(
            """SELECT current_database() AS database, current_setting('server_version') AS version,
                      current_user AS "user", rolsuper AS superuser
                 FROM pg_roles WHERE rolname = current_user"""
        )
        # set_config(…, true) lasts until the outer transaction ends: restore the caller's values after.
        saved = db.one(
            "SELECT current_setting('statement_timeout') AS st, current_setting('lock_timeout') AS lt"
        )
        db.rows(
            "SELECT set_config('statement_timeout', %s, true), set_config('lock_timeout', %s, true)",
            [str(db.thresholds.statement_timeout_ms), str(db.thresholds.lock_timeout_ms)],
        )
        for position, (name, check) in enumerate(selected, start=1):
            if progress:
                progress(f"[{position:>2}/{len(selected)}] {name}")
            try:
                with transaction.atomic(using=connection.alias):
                    results.append(check(db))
            except DatabaseError as error:
                results.append(
                    Check(
                        name,
                        "warn",
                        f"could not run: {str(error).strip().splitlines()[0]}",
                        {},
                        "Run it again; "
                        "a timeout means a lock or a slow catalog, a permission error a non-superuser connection.",
                    )
                )
        db.rows(
            "SELECT set_config('statement_timeout', %s, true), set_config('lock_timeout', %s, true)",
            [saved["st"], saved["lt"]],
        )
    return Report(
        database=about["database"],
        server_version=about["version"],
        connected_as=about["user"],
        superuser=bool(about["superuser"]),
        checks=results,
        seconds=time.perf_counter() - started,
    )
