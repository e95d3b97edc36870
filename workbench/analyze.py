"""`analyze_queries`' engine: collect the hot queries, EXPLAIN them under RLS, and try candidate indexes.

Two sources of queries:
- "requests": the benchmark's hot operations (workbench.bench.scenario) run in-process through the real
  middleware as the firm's typical Sales Manager, every statement captured with its parameters; each
  request runs in a transaction that is rolled back, so writes are not kept.
- "statements": the top of pg_stat_statements for this database, when the extension is loaded.

Each distinct statement (values normalised away) is then EXPLAINed as that manager — the same
`rls.begin()` the middleware runs, in one transaction rolled back at the end, each statement in a
savepoint of its own — with ANALYZE and BUFFERS when it has concrete values, or as a generic plan
(PostgreSQL 16+) when it has only `$n` placeholders. With HypoPG, every index candidate the plans suggest
is created hypothetically and the plans' costs compared (EXPLAIN without ANALYZE): only candidates
that cut a query's cost by half or more are recommended.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.test.utils import override_settings

from crm import rls
from crm.models import Tenant
from workbench.analyze_plan import Candidate, PlanFindings, analyze_plan, covered_by, normalize
from workbench.bench.scenario import Scene, typical_manager

RECOMMEND_CUT = 0.5  # a candidate must halve a query's estimated cost to be recommended
_EXPLAINABLE = re.compile(r"^\s*(SELECT|WITH|INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
_PLUMBING = ("set_config(", "crm_request_context", "pg_stat_statements", "pg_catalog.", "hypopg")
_PLACEHOLDER = re.compile(r"\$\d+")


@dataclass
class Options:
    source: str = "auto"  # auto | requests | statements
    only: str = ""  # operations whose name contains this (requests)
    calls: int = 1  # requests run per operation (the write operations rotate through many)
    top: int = 50  # statements read from pg_stat_statements
    min_rows: int = 10_000  # sequential scans of smaller tables are not reported
    statement_timeout_ms: int = 30_000
    hypopg: bool = True


@dataclass
class Statement:
    """One distinct query and what its plan shows."""

    key: str  # the normalised text
    sql: str
    params: Sequence[Any] | None
    operations: list[str] = field(default_factory=list)
    calls: int = 0
    seen_ms: float = 0.0  # time the requests spent in it (or pg_stat_statements' total)
    explained: str = ""  # "analyze" | "generic" | "estimate" | "" (not explained)
    execution_ms: float | None = None
    planning_ms: float | None = None
    cost: float | None = None
    rows: float | None = None
    buffers: dict[str, int] = field(default_factory=dict)
    findings: PlanFindings = field(default_factory=PlanFindings)
    note: str = ""

    @property
    def generic(self) -> bool:
        return self.params is None and bool(_PLACEHOLDER.search(self.sql))

    @property
    def weight_ms(self) -> float:
        """What ranks the query: its time per run × runs (the requests' share, or pg_stat_statements')."""
        if self.execution_ms is not None and self.explained == "analyze":
            return self.execution_ms * max(self.calls, 1)
        return self.seen_ms

    @property
    def flagged(self) -> bool:
        found = self.findings
        return bool(found.seq_scans or found.sorts or found.misestimates)


@dataclass
class Trial:
    """One candidate index tried (hypothetically) against one query."""

    query: int  # index into Analysis.statements
    before: float
    after: float
    used: bool

    @property
    def cut(self) -> float:
        return 0.0 if self.before <= 0 or not self.used else max(0.0, 1 - self.after / self.before)


@dataclass
class Verdict:
    candidate: Candidate
    queries: list[int]  # the statements whose plans suggested it
    trials: list[Trial] = field(default_factory=list)
    covered_by: str = ""  # an existing index that already has these leading columns
    status: str = "unverified"  # unverified | recommended | rejected | covered
    saving_ms: float = 0.0  # the time of the queries it is best for × its cost cut

    @property
    def best_cut(self) -> float:
        return max((t.cut for t in self.trials), default=0.0)


@dataclass
class OperationRun:
    name: str
    requests: int
    status: int
    expect: int
    statements: int  # statements captured (before dedupe)


@dataclass
class Analysis:
    source: str
    facts: dict[str, Any] = field(default_factory=dict)
    operations: list[OperationRun] = field(default_factory=list)
    statements: list[Statement] = field(default_factory=list)
    hypopg: str = ""  # "" = used; else why not
    verdicts: list[Verdict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def recommended(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.status == "recommended"]


class SourceUnavailable(Exception):
    pass


# -- collecting queries -----------------------------------------------------------------------------------


class _Recorder:
    """A connection.execute_wrapper keeping each business statement with its parameters and time."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Sequence[Any] | None, float]] = []

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            if not many and _EXPLAINABLE.match(sql) and not any(p in sql for p in _PLUMBING):
                self.seen.append((sql, params, (time.perf_counter() - started) * 1000))


def capture_requests(
    scene: Scene, options: Options, say: Callable[[str], None]
) -> tuple[list[OperationRun], list[Statement]]:
    """Run each hot operation's first `options.calls` requests in-process and keep their SQL, deduped."""
    client = Client(
        HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {scene.token}", HTTP_ACCEPT="application/json"
    )
    operations = [op for op in scene.operations if options.only in op.name]
    runs: list[OperationRun] = []
    distinct: dict[str, Statement] = {}
    for n, operation in enumerate(operations, 1):
        recorder = _Recorder()
        status = 0
        calls = operation.calls[: max(options.calls, 1)]
        for call in calls:
            # The request's own transaction becomes a savepoint of this one, which is rolled back: the
            # writes of "create" and "update" are planned and run, never kept.
            # Rate limits off: the operations' SQL is what is analysed, not the limiter's (it runs as the
            # owner, outside the request's transaction), and one manager's quick succession of requests
            # would otherwise be answered 429.
            with (
                override_settings(RATE_LIMIT_ENABLED=False),
                transaction.atomic(),
                connection.execute_wrapper(recorder),
            ):
                response = client.generic(
                    call.method, call.path, data=call.payload() or b"", content_type="application/json"
                )
                transaction.set_rollback(True)
            status = status if status and status != operation.expect else response.status_code
        for sql, params, elapsed in recorder.seen:
            key = normalize(sql)
            statement = distinct.setdefault(key, Statement(key=key, sql=sql, params=params))
            statement.calls += 1
            statement.seen_ms += elapsed
            if operation.name not in statement.operations:
                statement.operations.append(operation.name)
        runs.append(OperationRun(operation.name, len(calls), status, operation.expect, len(recorder.seen)))
        flag = "" if status == operation.expect else f"  (answered {status}, expected {operation.expect})"
        say(f"[{n:>2}/{len(operations)}] {operation.name}: {len(recorder.seen)} statements{flag}")
    return runs, list(distinct.values())


def statements_available() -> str:
    """ "" when pg_stat_statements can be read here, else why not."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
        if cursor.fetchone() is None:
            return "the pg_stat_statements extension is not installed in this database"
        cursor.execute("SELECT current_setting('shared_preload_libraries')")
        row = cursor.fetchone()
        if row is None or "pg_stat_statements" not in row[0]:
            return "pg_stat_statements is not in shared_preload_libraries"
    return ""


def read_statements(options: Options) -> list[Statement]:
    """The statements of this database that took the most time, as pg_stat_statements normalised them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT query, calls, total_exec_time, rows FROM pg_stat_statements"
            " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND query ~* '^\\s*(select|with|insert|update|delete)\\M'"
            " ORDER BY total_exec_time DESC LIMIT %s",
            [options.top * 3],  # room for the plumbing filtered out below
        )
        rows = cursor.fetchall()
    found: list[Statement] = []
    for query, calls, total_ms, _rows in rows:
        if any(p in query for p in _PLUMBING):
            continue
        found.append(
            Statement(
                key=normalize(query),
                sql=query,
                params=None,
                operations=["pg_stat_statements"],
                calls=int(calls),
                seen_ms=float(total_ms),
            )
        )
    return found[: options.top]


# -- explaining -------------------------------------------------------------------------------------------


@contextmanager
def as_user(user_id: int, timeout_ms: int) -> Iterator[None]:
    """A transaction as `user_id` (exactly the middleware's rls.begin), always rolled back."""
    with transaction.atomic():
        rls.begin(user_id, request_id="analyze_queries")
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [str(timeout_ms)])
        try:
            yield
        finally:
            transaction.set_rollback(True)


def _explain(statement: Statement, options: str) -> dict[str, Any]:
    """One EXPLAIN in a savepoint that is rolled back (ANALYZE runs the writes too)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN ({options}, FORMAT JSON) {statement.sql}", statement.params)
        row = cursor.fetchone()
        transaction.set_rollback(True)
    assert row is not None
    document = row[0]
    result: dict[str, Any] = document[0]
    return result


def _cancelled(exc: BaseException) -> bool:
    return isinstance(exc.__cause__, psycopg.errors.QueryCanceled)


def server_version() -> int:
    return int(connection.cursor().connection.info.server_version)


def explain_statement(statement: Statement, *, generic_plans: bool) -> dict[str, Any] | None:
    """EXPLAIN one statement (inside `as_user`): with ANALYZE when it has values, else a generic plan."""
    if statement.generic:
        if not generic_plans:
            statement.note = "has $n parameters: EXPLAIN (GENERIC_PLAN) needs PostgreSQL 16+, skipped"
            return None
        how, statement.explained = "GENERIC_PLAN", "generic"
    else:
        how, statement.explained = "ANALYZE, BUFFERS", "analyze"
    try:
        return _explain(statement, how)
    except DatabaseError as exc:
        if not _cancelled(exc) or statement.explained != "analyze":
            statement.explained = ""
            statement.note = f"EXPLAIN failed: {str(exc).strip().splitlines()[0]}"
            return None
    # Slower than the statement timeout: its estimated plan is still worth reading.
    statement.explained = "estimate"
    statement.note = "timed out under EXPLAIN ANALYZE: estimated plan only"
    try:
        return _explain(statement, "COSTS")
    except DatabaseError as exc:
        statement.explained = ""
        statement.note = f"EXPLAIN failed: {str(exc).strip().splitlines()[0]}"
        return None


@dataclass
class Catalog:
    rows: dict[str, int]
    columns: dict[str, set[str]]
    indexes: dict[str, list[str]]


def read_catalog() -> Catalog:
    """Table sizes, columns and index definitions of the current schema (read as the owner)."""
    catalog = Catalog({}, {}, {})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, greatest(c.reltuples::bigint, coalesce(s.n_live_tup, 0)) FROM pg_class c"
            " LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid"
            " WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')"
        )
        catalog.rows = {name: int(rows) for name, rows in cursor.fetchall()}
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()"
        )
        for table, column in cursor.fetchall():
            catalog.columns.setdefault(table, set()).add(column)
        cursor.execute("SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = current_schema()")
        for table, definition in cursor.fetchall():
            catalog.indexes.setdefault(table, []).append(definition)
    return catalog


def _buffers(plan: dict[str, Any]) -> dict[str, int]:
    names = {
        "Shared Hit Blocks": "shared_hit",
        "Shared Read Blocks": "shared_read",
        "Temp Read Blocks": "temp_read",
        "Temp Written Blocks": "temp_written",
    }
    return {short: int(plan[key]) for key, short in names.items() if key in plan}


def explain_all(
    statements: Sequence[Statement],
    user_id: int,
    catalog: Catalog,
    options: Options,
    say: Callable[[str], None],
) -> None:
    generic_plans = server_version() >= 160000
    with as_user(user_id, options.statement_timeout_ms):
        for n, statement in enumerate(statements, 1):
            document = explain_statement(statement, generic_plans=generic_plans)
            if document is not None:
                plan = document["Plan"]
                statement.execution_ms = document.get("Execution Time")
                statement.planning_ms = document.get("Planning Time")
                statement.cost = float(plan["Total Cost"])
                statement.rows = plan.get("Actual Rows", plan.get("Plan Rows"))
                statement.buffers = _buffers(plan)
                statement.findings = analyze_plan(
                    plan, table_rows=catalog.rows, table_columns=catalog.columns, min_rows=options.min_rows
                )
            if n % 10 == 0 or n == len(statements):
                say(f"explained {n}/{len(statements)} distinct statements")


# -- candidate indexes ------------------------------------------------------------------------------------


def hypopg_unavailable() -> str:
    """ "" when HypoPG can be used in this database (creating the extension if it is only available)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT installed_version FROM pg_available_extensions WHERE name = 'hypopg'")
        row = cursor.fetchone()
        if row is None:
            version = server_version() // 10000
            return (
                f"HypoPG is not installed on this PostgreSQL {version} server"
                f" (Debian: apt-get install postgresql-{version}-hypopg)"
            )
        if row[0] is None:
            try:
                with transaction.atomic():
                    cursor.execute("CREATE EXTENSION IF NOT EXISTS hypopg")
            except DatabaseError as exc:
                return f"HypoPG is available but CREATE EXTENSION failed: {str(exc).strip().splitlines()[0]}"
    return ""


def collect_candidates(statements: Sequence[Statement], catalog: Catalog) -> list[Verdict]:
    verdicts: dict[tuple[str, tuple[str, ...], str], Verdict] = {}
    for n, statement in enumerate(statements):
        for candidate in statement.findings.candidates:
            verdict = verdicts.setdefault(candidate.key, Verdict(candidate, []))
            verdict.queries.append(n)
    for verdict in verdicts.values():
        existing = covered_by(verdict.candidate, catalog.indexes.get(verdict.candidate.table, []))
        if existing:
            verdict.covered_by, verdict.status = existing, "covered"
    return list(verdicts.values())


def _plan_cost(statement: Statement) -> tuple[float, set[str]]:
    how = "GENERIC_PLAN" if statement.generic else "COSTS"
    document = _explain(statement, how)
    plan = document["Plan"]
    names = set()
    stack = [plan]
    while stack:
        node = stack.pop()
        if node.get("Index Name"):
            names.add(node["Index Name"])
        stack.extend(node.get("Plans", ()))
    return float(plan["Total Cost"]), names


def try_candidates(analysis: Analysis, user_id: int, options: Options, say: Callable[[str], None]) -> None:
    """Create each candidate hypothetically and compare the plans of the queries that suggested it."""
    open_verdicts = [v for v in analysis.verdicts if v.status == "unverified"]
    # Plain EXPLAIN costs first, before any hypothetical index exists: HypoPG's indexes are seen by plain
    # EXPLAIN only, so both sides of the comparison are estimates of the same kind.
    baseline: dict[int, float] = {}
    with as_user(user_id, options.statement_timeout_ms):
        for query in sorted({q for v in open_verdicts for q in v.queries}):
            try:
                baseline[query], _ = _plan_cost(analysis.statements[query])
            except DatabaseError as exc:
                analysis.statements[query].note = f"plain EXPLAIN failed: {str(exc).strip().splitlines()[0]}"
    for n, verdict in enumerate(open_verdicts, 1):
        with connection.cursor() as cursor:
            # Hypothetical indexes live in this backend's memory, whatever role then plans the query.
            cursor.execute(
                "SELECT indexrelid, indexname FROM hypopg_create_index(%s)",
                [verdict.candidate.create_sql(concurrently=False)],
            )
            row = cursor.fetchone()
            assert row is not None
            oid, name = row
            try:
                with as_user(user_id, options.statement_timeout_ms):
                    for query in verdict.queries:
                        if query not in baseline:
                            continue
                        try:
                            after, used = _plan_cost(analysis.statements[query])
                        except DatabaseError:
                            continue
                        verdict.trials.append(Trial(query, baseline[query], after, name in used))
            finally:
                cursor.execute("SELECT hypopg_drop_index(%s)", [oid])
        if n % 10 == 0 or n == len(open_verdicts):
            say(f"tried {n}/{len(open_verdicts)} candidate indexes with HypoPG")
    # Each query credits only its best candidate (largest cut; fewer columns on a tie), so that near
    # duplicates (with and without the scope key) are not both recommended.
    best: dict[int, tuple[Verdict, Trial]] = {}
    for verdict in open_verdicts:
        verdict.status = "rejected"
        for trial in verdict.trials:
            held = best.get(trial.query)
            if (
                held is None
                or trial.cut > held[1].cut + 1e-9
                or (
                    abs(trial.cut - held[1].cut) <= 1e-9
                    and len(verdict.candidate.columns) < len(held[0].candidate.columns)
                )
            ):
                best[trial.query] = (verdict, trial)
    for query, (verdict, trial) in best.items():
        if trial.cut >= RECOMMEND_CUT:
            verdict.status = "recommended"
            verdict.saving_ms += analysis.statements[query].weight_ms * trial.cut


# -- the whole run -------------------------------------------------------------------------------------


def choose_tenant(tenant_id: int | None) -> Tenant:
    """The firm to analyse: the one asked for, else the generated one, else the only firm there is."""
    from workbench.bench.scenario import generated_tenant

    if tenant_id is not None:
        tenant = Tenant.objects.filter(pk=tenant_id).first()
        if tenant is None:
            raise SourceUnavailable(f"there is no firm {tenant_id} in this database")
        return tenant
    tenant = generated_tenant()
    if tenant is not None:
        return tenant
    firms = list(Tenant.objects.order_by("id")[:10])
    if len(firms) == 1:
        return firms[0]
    if not firms:
        raise SourceUnavailable(
            "this database has no firm: load one (manage.py load_demo, or generate_data --scale 0.05)"
        )
    listing = ", ".join(f"{t.pk} ({t.name})" for t in firms)
    raise SourceUnavailable(f"no generated firm here: pass --tenant ID (firms: {listing})")


def run(
    options: Options,
    log: Callable[[str], None],
    *,
    tenant_id: int | None = None,
    scene_factory: Callable[[Tenant], Scene] | None = None,
) -> Analysis:
    started = time.perf_counter()

    def say(text: str) -> None:
        log(f"[{time.perf_counter() - started:6.1f}s] {text}")

    from workbench.bench.scenario import build_scene

    tenant = choose_tenant(tenant_id)
    source = options.source
    why_not = statements_available() if source in ("auto", "statements") else ""
    if source == "statements" and why_not:
        raise SourceUnavailable(f"--source statements: {why_not}")
    if source == "auto":
        source = "requests" if why_not else "statements"
        say(f"source: {source} ({why_not or 'pg_stat_statements is loaded'})")
    analysis = Analysis(source=source)
    if source == "requests":
        scene = (scene_factory or build_scene)(tenant)
        manager_id = scene.manager.pk
        analysis.facts = {**scene.facts}
        say(
            f"firm {tenant.pk} ({tenant.name}), manager {manager_id} with a book of {len(scene.book)}:"
            f" running the hot requests"
        )
        analysis.operations, analysis.statements = capture_requests(scene, options, say)
    else:
        manager, book = typical_manager(tenant)
        manager_id = manager.pk
        analysis.facts = {"tenant": tenant.pk, "manager": manager_id, "book_size": len(book)}
        analysis.statements = read_statements(options)
        say(f"read {len(analysis.statements)} statements from pg_stat_statements")
    analysis.facts["server_version"] = server_version()
    catalog = read_catalog()
    explain_all(analysis.statements, manager_id, catalog, options, say)
    analysis.statements.sort(key=lambda s: s.weight_ms, reverse=True)
    skipped = [s for s in analysis.statements if not s.explained]
    if skipped:
        analysis.notes.append(f"{len(skipped)} statement(s) not explained: {skipped[0].note}")
    analysis.verdicts = collect_candidates(analysis.statements, catalog)
    analysis.hypopg = "disabled (--no-hypopg)" if not options.hypopg else hypopg_unavailable()
    if analysis.hypopg:
        say(f"{analysis.hypopg}: candidate indexes are listed unverified")
    elif any(v.status == "unverified" for v in analysis.verdicts):
        try_candidates(analysis, manager_id, options, say)
    for verdict in analysis.verdicts:
        if verdict.status == "unverified":
            verdict.saving_ms = sum(analysis.statements[q].weight_ms for q in verdict.queries)
    analysis.verdicts.sort(
        key=lambda v: (
            ("recommended", "unverified", "rejected", "covered").index(v.status),
            -v.saving_ms,
            v.candidate.definition(),
        )
    )
    analysis.seconds = time.perf_counter() - started
    say(f"done in {analysis.seconds:.1f} s")
    return analysis
