"""Row level security lints over the tenant tables, SECURITY DEFINER functions and the runtime role."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import transaction
from pglast import ast, parse_sql
from pglast.parser import ParseError
from pglast.visitors import Ancestor, Visitor
from psycopg import sql

from crm import rls
from crm.ops.dbhealth.base import USER_SCHEMA, Check, Db, Status, found, worst

COMMANDS = ("SELECT", "INSERT", "UPDATE", "DELETE")


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


class _Expression(Visitor):
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
                         WHERE c.relowner = r.oid AND c.relkind IN ('r', 'p', 'v', 'm'))::text[] AS owns,
                  has_database_privilege(r.oid, current_database(), 'TEMPORARY') AS temporary,
                  -- Temporary schemas answer CREATE to whoever has TEMPORARY, reported just above.
                  ARRAY(SELECT n.nspname FROM pg_namespace n
                         WHERE has_schema_privilege(r.oid, n.oid, 'CREATE')
                           AND n.nspname !~ '^pg_(toast_)?temp_')::text[] AS creates_in
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
    if row["temporary"]:
        problems.append(
            "may create temporary tables (a trigger on one can call the history writer; they can shadow"
            " tables): REVOKE TEMPORARY ON DATABASE … FROM PUBLIC, as the database's owner"
        )
    if row["creates_in"]:
        problems.append(
            f"may create objects in {', '.join(row['creates_in'])}: REVOKE CREATE ON SCHEMA … FROM PUBLIC"
        )
    figures = {"role": role, **row}
    if not problems:
        return Check("runtime_role", "ok", f"{role} cannot bypass row level security", figures)
    return Check(
        "runtime_role",
        "fail",
        f"{role} can bypass row level security or reach past it: {'; '.join(problems)}",
        figures,
        f"ALTER ROLE {role} NOSUPERUSER NOBYPASSRLS; REVOKE the powerful roles; ALTER … OWNER TO the owner.",
        [{"problem": problem} for problem in problems],
    )
