"""Session checks: connections, idle in transaction, long and blocked queries, replication."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import sql

from crm.ops.dbhealth.base import Check, Db, graded, mb, worst


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


def replica_states() -> list[dict[str, Any]]:
    from crm import replicas  # the request path's view of them

    return replicas.describe_all(fresh=True, detailed=True)


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
    # The replicas this service reads from (DATABASE_REPLICA_URLS), as a request sees them (crm.replicas).
    configured = replica_states()
    for state in configured:
        state["status"] = {"ok": "ok", "lagging": "warn"}.get(state["state"], "fail")
        rows.append(state)
    status = worst(row["status"] for row in rows)
    figures = {
        "standby": False,
        "replicas": len(replicas),
        "inactive_slots": len(slots),
        "configured_replicas": len(configured),
    }
    if not replicas and not configured and status == "ok":
        return Check("replication", "ok", "no replicas (and no inactive slot retaining much WAL)", figures)
    return Check(
        "replication",
        status,
        f"{len(replicas)} replicas, worst replay lag {max((r['lag_s'] for r in replicas), default=0):.0f} s; "
        f"{len(slots)} inactive slots; {len(configured)} read by the service"
        + "".join(f", {state['alias']} {state['state']}" for state in configured),
        figures,
        ""
        if status == "ok"
        else "A lagging replica: its I/O, network or long queries; an inactive slot keeps WAL forever: "
        "SELECT pg_drop_replication_slot('<slot>') when its consumer is gone. A replica the service reads "
        "from that is down or no longer a standby: restart it, or take it out of DATABASE_REPLICA_URLS.",
        rows,
    )
