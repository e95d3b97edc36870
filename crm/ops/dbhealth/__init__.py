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

The checks live by family, each module one section of the report: indexes, constraints (the schema's),
storage (bloat, cache), maintenance (wraparound, autovacuum, sequences), sessions, security (row level
security, definer functions, the runtime role); base holds what they share, report their order (CHECKS)
and run_checks.
"""

from __future__ import annotations

from crm.ops.dbhealth.base import (
    SEVERITY,
    USER_SCHEMA,
    Check,
    Db,
    Status,
    Thresholds,
    found,
    graded,
    mb,
    worst,
)
from crm.ops.dbhealth.constraints import check_not_valid_constraints, check_tables_without_primary_key
from crm.ops.dbhealth.indexes import (
    check_duplicate_indexes,
    check_foreign_keys_without_index,
    check_invalid_indexes,
    check_redundant_indexes,
    check_unused_indexes,
)
from crm.ops.dbhealth.maintenance import (
    TYPE_MAX,
    XID_LIMIT,
    check_autovacuum,
    check_sequences,
    check_wraparound,
)
from crm.ops.dbhealth.report import CHECK_NAMES, CHECKS, Report, run_checks
from crm.ops.dbhealth.security import (
    ALWAYS_TRUE_ALLOWED,
    COMMANDS,
    NOT_FORCED,
    TenantTable,
    analyse_expression,
    check_rls_always_true_policy,
    check_rls_command_without_policy,
    check_rls_disabled,
    check_rls_not_forced,
    check_rls_per_row_current_setting,
    check_rls_policy_ignores_tenant,
    check_rls_unverified_context,
    check_rls_views_bypass,
    check_runtime_role,
    check_security_definer_functions,
    tenant_tables,
)
from crm.ops.dbhealth.sessions import (
    check_blocked_queries,
    check_connections,
    check_idle_in_transaction,
    check_long_queries,
    check_replication,
)
from crm.ops.dbhealth.storage import (
    check_bloat,
    check_cache_hit_rate,
    estimate_btree_pages,
    estimate_heap_pages,
)

# Every public name of the single module this package replaced, so `from crm.ops.dbhealth import X`
# keeps working; the API is run_checks, Report, Check, Thresholds and CHECK_NAMES.
__all__ = [
    "ALWAYS_TRUE_ALLOWED",
    "CHECKS",
    "CHECK_NAMES",
    "COMMANDS",
    "NOT_FORCED",
    "SEVERITY",
    "TYPE_MAX",
    "USER_SCHEMA",
    "XID_LIMIT",
    "Check",
    "Db",
    "Report",
    "Status",
    "TenantTable",
    "Thresholds",
    "analyse_expression",
    "check_autovacuum",
    "check_bloat",
    "check_blocked_queries",
    "check_cache_hit_rate",
    "check_connections",
    "check_duplicate_indexes",
    "check_foreign_keys_without_index",
    "check_idle_in_transaction",
    "check_invalid_indexes",
    "check_long_queries",
    "check_not_valid_constraints",
    "check_redundant_indexes",
    "check_replication",
    "check_rls_always_true_policy",
    "check_rls_command_without_policy",
    "check_rls_disabled",
    "check_rls_not_forced",
    "check_rls_per_row_current_setting",
    "check_rls_policy_ignores_tenant",
    "check_rls_unverified_context",
    "check_rls_views_bypass",
    "check_runtime_role",
    "check_security_definer_functions",
    "check_sequences",
    "check_tables_without_primary_key",
    "check_unused_indexes",
    "check_wraparound",
    "estimate_btree_pages",
    "estimate_heap_pages",
    "found",
    "graded",
    "mb",
    "run_checks",
    "tenant_tables",
    "worst",
]
