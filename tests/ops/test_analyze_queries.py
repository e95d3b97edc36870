"""analyze_queries: reading plans, a run over every hot operation under RLS, and a planted missing index
that the command reports (and, with HypoPG on a throwaway PostgreSQL cluster, fixes with an index)."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from io import StringIO
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from workbench import analyze
from workbench.analyze_plan import (
    Candidate,
    analyze_plan,
    covered_by,
    filter_columns,
    normalize,
    sort_columns,
)
from workbench.bench.scenario import build_scene
from workbench.datagen import generate

ROOT = Path(__file__).resolve().parents[2]
POLICY_FILTER = (
    "((deleted_at IS NULL) AND (tenant_id = $0) AND (($1 = 'admin'::text) OR (principal_id = ANY ($2))"
    " OR (principal_id IS NULL)) AND ((type)::text = 'call'::text) AND (occurred_at >= '2026-01-01'::timestamptz))"
)
INTERACTION_COLUMNS = {
    "id",
    "tenant_id",
    "principal_id",
    "type",
    "occurred_at",
    "deleted_at",
    "organization_id",
}


# -- plan reading, no database -------------------------------------------------------------------------


def test_normalize_makes_one_query_of_the_same_statement_with_other_values():
    first = normalize("SELECT * FROM t WHERE a = %s AND b IN (%s, %s) AND c = 'x' LIMIT 51")
    again = normalize("SELECT * FROM t WHERE a = %s AND b IN (%s, %s, %s) AND c = 'it''s' LIMIT 21")
    assert first == again == "SELECT * FROM t WHERE a = ? AND b IN (?…) AND c = ? LIMIT ?"
    assert normalize('SELECT "t1"."id" FROM t1 WHERE x = $1') == 'SELECT "t1"."id" FROM t1 WHERE x = ?'
    assert normalize("SELECT 1 FROM t WHERE a = %(tenant)s") != normalize("SELECT 1 FROM u WHERE a = %s")


def test_filter_columns_reads_the_policy_the_scope_key_and_the_query_own_conditions():
    found = filter_columns(POLICY_FILTER)
    assert found.equal == ["tenant_id", "type"]
    assert found.ranged == ["occurred_at"]
    assert found.scope == "principal_id" and found.live_only
    assert sort_columns(["i.occurred_at DESC", "i.id DESC"]) == ("i", ["occurred_at DESC", "id DESC"])
    assert sort_columns(["(lower(name))", "id"]) == (None, [])


def _scan(
    rows: float, removed: float, *, table: str = "interaction", plan_rows: float = 1000
) -> dict[str, Any]:
    return {
        "Node Type": "Seq Scan",
        "Relation Name": table,
        "Alias": table,
        "Filter": POLICY_FILTER,
        "Plan Rows": plan_rows,
        "Actual Rows": rows,
        "Actual Loops": 1,
        "Rows Removed by Filter": removed,
    }


def test_a_seq_scan_of_a_large_table_and_its_sort_give_tenant_led_candidates():
    plan = {
        "Node Type": "Limit",
        "Plan Rows": 50,
        "Actual Rows": 50,
        "Actual Loops": 1,
        "Plans": [
            {
                "Node Type": "Sort",
                "Sort Key": ["interaction.occurred_at DESC", "interaction.id DESC"],
                "Sort Method": "top-N heapsort",
                "Sort Space Used": 40,
                "Sort Space Type": "Memory",
                "Plan Rows": 1000,
                "Actual Rows": 50,
                "Actual Loops": 1,
                "Plans": [_scan(5000, 95000)],
            }
        ],
    }
    found = analyze_plan(
        plan,
        table_rows={"interaction": 100_000},
        table_columns={"interaction": INTERACTION_COLUMNS},
        min_rows=10_000,
    )
    (scan,) = found.seq_scans
    assert (scan.table, scan.table_rows, scan.rows, scan.removed) == ("interaction", 100_000, 5000, 95000)
    (sort,) = found.sorts
    assert sort.keys == ("interaction.occurred_at DESC", "interaction.id DESC") and sort.rows == 5000
    definitions = {c.definition() for c in found.candidates}
    assert "interaction (tenant_id, type, occurred_at) WHERE deleted_at IS NULL" in definitions
    assert "interaction (tenant_id, principal_id, type, occurred_at) WHERE deleted_at IS NULL" in definitions
    assert "interaction (tenant_id, type, occurred_at DESC, id DESC) WHERE deleted_at IS NULL" in definitions
    # The scan feeds a Limit through a blocking Sort, so its 1,000 vs 5,000 rows is a real error.
    assert [m.node for m in found.misestimates] == []  # ×5 is under the ×10 bar
    small = analyze_plan(
        plan,
        table_rows={"interaction": 5_000},
        table_columns={"interaction": INTERACTION_COLUMNS},
        min_rows=10_000,
    )
    assert small.seq_scans == [] and small.candidates == []


def test_estimate_errors_are_reported_where_made_not_where_a_limit_stopped_a_scan():
    join = {
        "Node Type": "Hash Join",
        "Hash Cond": "(interaction.organization_id = o.id)",
        "Plan Rows": 5,
        "Actual Rows": 4000,
        "Actual Loops": 1,
        "Plans": [
            _scan(4000, 0, plan_rows=4000),
            {"Node Type": "Hash", "Plan Rows": 10, "Actual Rows": 10, "Actual Loops": 1},
        ],
    }
    found = analyze_plan(
        {"Node Type": "Aggregate", "Plan Rows": 5, "Actual Rows": 4000, "Actual Loops": 1, "Plans": [join]},
        table_rows={"interaction": 100_000},
        table_columns={"interaction": INTERACTION_COLUMNS},
        min_rows=10_000,
    )
    assert [(m.node, m.factor) for m in found.misestimates] == [("Hash Join", 800.0)]
    assert any(c.columns[:2] == ("tenant_id", "organization_id") for c in found.candidates)
    limited = {
        "Node Type": "Limit",
        "Plan Rows": 50,
        "Actual Rows": 50,
        "Actual Loops": 1,
        "Plans": [
            {**_scan(50, 0, plan_rows=90_000), "Node Type": "Index Scan", "Index Name": "interaction_recent"}
        ],
    }
    found = analyze_plan(limited, table_rows={}, table_columns={}, min_rows=10_000)
    assert found.misestimates == [] and found.indexes == ["interaction_recent"]


def test_a_candidate_an_existing_index_already_leads_with_is_covered():
    candidate = Candidate("interaction", ("tenant_id", "occurred_at DESC"), "deleted_at IS NULL")
    existing = "CREATE INDEX interaction_recent ON public.interaction USING btree (tenant_id, occurred_at DESC, id DESC)"
    assert covered_by(candidate, [existing]) == existing
    assert covered_by(Candidate("interaction", ("tenant_id", "type"), ""), [existing]) is None
    assert candidate.create_sql() == (
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS interaction_tenant_occurred_at_live_idx"
        " ON interaction (tenant_id, occurred_at DESC) WHERE deleted_at IS NULL;"
    )


# -- the command on generated data (the embedded server: no HypoPG) -------------------------------------

Run = Callable[[Sequence[str]], dict[str, Any]]
Sql = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]
SLOW_TABLE = "interaction"
SLOW_OPERATION = "interactions: recent"


def _seq_scans_on(report: dict[str, Any], table: str) -> list[dict[str, Any]]:
    return [scan for q in report["queries"] for scan in q["seq_scans"] if scan["table"] == table]


def plant_missing_index(run: Run, sql: Sql) -> tuple[list[str], dict[str, Any]]:
    """Drop the indexes the slow operation reads on its table until its plan falls back to a seq scan.

    Whatever shape the operation's queries have today, they end up without the index they need. Returns
    the dropped definitions (to restore) and the report that shows the scan.
    """
    dropped: list[str] = []
    for _ in range(8):
        report = run(["--only", SLOW_OPERATION, "--min-rows", "1000"])
        if _seq_scans_on(report, SLOW_TABLE):
            return dropped, report
        used = sorted({name for q in report["queries"] for name in q["indexes_used"]})
        rows = sql(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname = ANY(%s)"
            " AND indexdef NOT LIKE 'CREATE UNIQUE%%'",
            [SLOW_TABLE, used],
        )
        assert rows, f"{SLOW_OPERATION} reads no droppable index of {SLOW_TABLE} and does not scan it: {used}"
        for name, definition in rows:
            sql(f'DROP INDEX "{name}"', [])
            dropped.append(definition)
    raise AssertionError(f"{SLOW_OPERATION} never fell back to a seq scan on {SLOW_TABLE}")


def _restore(sql: Sql, definitions: Sequence[str]) -> None:
    for definition in definitions:
        sql(definition.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1), [])


def _django_sql(query: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(query, params or None)
        return list(cursor.fetchall()) if cursor.description else []


def _call(args: Sequence[str]) -> dict[str, Any]:
    out, err = StringIO(), StringIO()
    call_command("analyze_queries", "--source", "requests", "--json", *args, stdout=out, stderr=err)
    assert "done in" in err.getvalue()  # progress went to stderr, the report alone to stdout
    return json.loads(out.getvalue())


@pytest.mark.django_db(transaction=True)
def test_every_hot_operation_is_analysed_and_a_dropped_index_shows_as_a_seq_scan(settings):
    # As deployed, rate limits on: the command runs the operations without them (one manager's quick
    # succession of requests is no client's, and the limiter's statement is not the operations').
    settings.RATE_LIMIT_ENABLED = True
    generate(scale=0.05, seed=11)
    scene = build_scene()
    report = _call(["--min-rows", "1000"])

    assert report["source"] == "requests" and report["facts"]["manager"] == scene.manager.pk
    assert [op["name"] for op in report["operations"]] == [op.name for op in scene.operations]
    for op in report["operations"]:
        assert op["status"] == op["expect"] and op["statements"] >= 1, op
    seen = {name for q in report["queries"] for name in q["operations"]}
    assert seen == {op.name for op in scene.operations}  # the SQL of every operation, deduped
    assert all(q["plan"] == "analyze" and q["execution_ms"] is not None for q in report["queries"])
    assert report["hypopg"].startswith("HypoPG is not installed")  # the embedded server has none
    # Writes were planned and run under EXPLAIN ANALYZE, and none of them was kept.
    assert _django_sql("SELECT count(*) FROM interaction WHERE subject LIKE %s", ["Benchmark call%"]) == [
        (0,)
    ]

    dropped, faulty = plant_missing_index(_call, _django_sql)
    try:
        assert dropped
        (scan, *_) = _seq_scans_on(faulty, SLOW_TABLE)
        assert scan["table_rows"] >= 1000
        unverified = [
            i for i in faulty["indexes"] if i["table"] == SLOW_TABLE and i["status"] == "unverified"
        ]
        assert unverified and all(i["columns"][0] == "tenant_id" for i in unverified)
        assert all(i["create"].startswith("CREATE INDEX CONCURRENTLY IF NOT EXISTS ") for i in unverified)
        out = StringIO()
        call_command(
            "analyze_queries", "--only", SLOW_OPERATION, "--min-rows", "1000", stdout=out, stderr=StringIO()
        )
        text = out.getvalue()
        assert f"Seq Scan on {SLOW_TABLE}" in text and "UNVERIFIED" in text and "Done in" in text
    finally:
        _restore(_django_sql, dropped)


@pytest.mark.django_db
def test_a_statement_with_placeholders_gets_a_generic_plan_as_the_user(firm):
    statement = analyze.Statement(
        key="",
        sql="SELECT id FROM interaction WHERE tenant_id = $1 AND principal_id = $2 ORDER BY occurred_at DESC LIMIT $3",
        params=None,
    )
    assert statement.generic
    with analyze.as_user(firm.manager.pk, 10_000):
        skipped = analyze.explain_statement(statement, generic_plans=False)
        assert skipped is None and "PostgreSQL 16" in statement.note
        document = analyze.explain_statement(statement, generic_plans=True)
    assert statement.explained == "generic" and document is not None
    assert document["Plan"]["Total Cost"] > 0 and "Actual Rows" not in document["Plan"]


def test_the_command_says_what_to_do_when_the_database_has_no_firm(db):
    with pytest.raises(Exception, match="no firm"):
        call_command("analyze_queries", "--source", "requests", stdout=StringIO(), stderr=StringIO())


# -- with HypoPG: a throwaway cluster of Debian's PostgreSQL -----------------------------------------------


def _hypopg_server() -> Path | None:
    """The bin directory of the newest local PostgreSQL that has HypoPG and pg_stat_statements."""
    for library in sorted(glob.glob("/usr/lib/postgresql/*/lib/hypopg.so"), reverse=True):
        base = Path(library).parents[1]
        if (base / "bin" / "initdb").exists() and (base / "lib" / "pg_stat_statements.so").exists():
            return base / "bin"
    return None


class Cluster:
    def __init__(self, bin_dir: Path, directory: Path, port: int) -> None:
        self.bin_dir, self.directory, self.port = bin_dir, directory, port
        self.url = f"postgresql://postgres@:{port}/crm?host={directory}"

    def sql(self, query: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with psycopg.connect(
            host=str(self.directory), port=self.port, user="postgres", dbname="crm", autocommit=True
        ) as conn:
            cursor = conn.execute(query, params or None)
            return list(cursor.fetchall()) if cursor.description else []

    def manage(self, *args: str) -> str:
        env = {**os.environ, "DATABASE_URL": self.url, "DEBUG": "1"}
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def run(self, args: Sequence[str]) -> dict[str, Any]:
        return json.loads(self.manage("analyze_queries", "--source", "requests", "--json", *args))


@pytest.fixture(scope="module")
def hypopg_cluster() -> Iterator[Cluster]:
    bin_dir = _hypopg_server()
    if bin_dir is None:
        pytest.skip(
            "*** SKIPPED LOUDLY: no local PostgreSQL with HypoPG (Debian: apt-get install"
            " postgresql-15-hypopg, which `make test` does as root): the index recommendation is untested ***"
        )
    directory = Path(tempfile.mkdtemp(prefix="crm-hypopg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: the cluster belongs to Debian's postgres user
        shutil.chown(directory, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    port = 5439
    options = (
        f"-k {directory} -p {port} -c listen_addresses= -c shared_preload_libraries=pg_stat_statements"
        " -c fsync=off -c synchronous_commit=off"
    )

    def pg(*args: str) -> None:
        subprocess.run([*as_postgres, *args], check=True, capture_output=True, timeout=120)

    pg(str(bin_dir / "initdb"), "-D", str(directory / "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    pg(
        str(bin_dir / "pg_ctl"),
        "-D",
        str(directory / "data"),
        "-l",
        str(directory / "log"),
        "-w",
        "-o",
        options,
        "start",
    )
    try:
        with psycopg.connect(
            host=str(directory), port=port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute("CREATE DATABASE crm")
        cluster = Cluster(bin_dir, directory, port)
        started = time.perf_counter()
        cluster.manage("migrate", "--no-input", "-v", "0")
        cluster.manage("generate_data", "--scale", "0.05", "--seed", "11")
        print(f"HypoPG cluster ready in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        yield cluster
    finally:
        pg(str(bin_dir / "pg_ctl"), "-D", str(directory / "data"), "-m", "immediate", "stop")
        shutil.rmtree(directory, ignore_errors=True)


def test_with_hypopg_a_dropped_index_is_recommended_back_and_restores_the_plan(hypopg_cluster: Cluster):
    dropped, faulty = plant_missing_index(hypopg_cluster.run, hypopg_cluster.sql)
    assert dropped and faulty["hypopg"] == "used"
    recommended = [i for i in faulty["indexes"] if i["status"] == "recommended" and i["table"] == SLOW_TABLE]
    assert recommended, json.dumps(faulty["indexes"], indent=1)[:3000]
    best = recommended[0]
    assert best["best_cut"] >= 0.5 and best["columns"][0] == "tenant_id"
    assert best["create"].startswith(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {SLOW_TABLE}_")
    text = hypopg_cluster.manage(
        "analyze_queries", "--source", "requests", "--only", SLOW_OPERATION, "--min-rows", "1000"
    )
    assert "Recommended indexes" in text and best["create"] in text

    slow = max(faulty["queries"], key=lambda q: len([s for s in q["seq_scans"] if s["table"] == SLOW_TABLE]))
    hypopg_cluster.sql(best["create"], [])  # CONCURRENTLY: outside a transaction, as an operator would
    fixed = hypopg_cluster.run(["--only", SLOW_OPERATION, "--min-rows", "1000"])
    again = next(q for q in fixed["queries"] if q["query"] == slow["query"])
    name = best["create"].split("IF NOT EXISTS ")[1].split()[0]
    assert name in again["indexes_used"] and again["cost"] <= slow["cost"] * 0.5


def test_pg_stat_statements_is_read_and_placeholders_are_skipped_before_postgresql_16(
    hypopg_cluster: Cluster,
):
    hypopg_cluster.sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", [])
    hypopg_cluster.run(["--only", "interactions", "--no-hypopg"])  # the hot requests, as traffic
    report = json.loads(
        hypopg_cluster.manage("analyze_queries", "--source", "statements", "--json", "--no-hypopg")
    )
    assert report["source"] == "statements" and report["queries"]
    assert all(q["operations"] == ["pg_stat_statements"] for q in report["queries"])
    version = report["facts"]["server_version"]
    with_placeholders = [q for q in report["queries"] if "?" in q["query"]]
    assert with_placeholders
    for query in with_placeholders:
        if version < 160000:
            assert query["plan"] is None and "PostgreSQL 16" in query["note"]
        else:
            assert query["plan"] == "generic"
