"""Every hot query is index-backed: EXPLAIN each one as the runtime role and fail on a big sequential scan.

A firm is generated at a scale where the main tables pass 10,000 rows (--scale 0.6: ~12k contacts and
opportunities, ~120k interactions) and ANALYZEd. Each hot operation of the benchmark (workbench.bench.scenario)
and the admin changelists of the big tables run once in-process as the benchmark's Sales Manager; every
statement they send is EXPLAINed under that request's own RLS context (runtime role, tenant, book), and
so are the search functions' own queries (they run as the owner). A Seq Scan of a table whose
pg_class.reltuples is over 10,000 fails the test, naming the operation, the node and the table.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from crm.models import User
from workbench.bench import baselines
from workbench.bench.scenario import Scene, build_scene
from workbench.datagen import generate

SCALE = 0.6
BIG_TABLE_ROWS = 10_000
EXPLAINED = re.compile(r"^\s*(SELECT|WITH|UPDATE|DELETE)\b", re.IGNORECASE)
SEARCH_CALL = re.compile(r"(crm_search_[a-z_]+)\('((?:[^']|'')*)'\)")
# Known big scans outside this suite's fixes, each with its reason; any other one fails the test.
KNOWN = {
    # CappedCountPaginator's `COUNT(*) FROM (… LIMIT 10001)`: with one firm in the database the planner
    # rightly reads the first 10,001 visible rows straight from the heap (bounded by the cap for admins;
    # a manager with a small book reads further: see the report of issue 7).
    "admin capped count": re.compile(r"^SELECT COUNT\(\*\) FROM \(SELECT .* LIMIT 10001\) subquery$", re.S),
    # The interaction changelist's date_hierarchy lists the years of every row (SELECT DISTINCT
    # date_trunc('year', occurred_at)): Django's own drill-down, to be replaced by a bounded one.
    "admin date hierarchy years": re.compile(r"^SELECT DISTINCT DATE_TRUNC\('year', \"interaction\"", re.S),
    # The duplicates lists rank every candidate pair of the firm to serve a page (ADR 0029): a whole-firm
    # read of the stored match keys by design, until the pairs are kept in a table of their own.
    "duplicates pairing": re.compile(r"^\s*WITH (named|people) AS (NOT MATERIALIZED )?\(", re.S),
}
ADMIN_CHANGELISTS = (
    "/admin/organizations/organization/",
    "/admin/contacts/contact/",
    "/admin/opportunities/opportunity/",
    "/admin/interactions/interaction/",
    "/admin/products/product/",
)


@dataclass(frozen=True)
class Captured:
    operation: str
    context: str  # the request's RLS context statement
    statements: list[str]


@dataclass(frozen=True)
class BigSeqScan:
    operation: str
    table: str
    rows: int
    node: str
    statement: str

    def __str__(self) -> str:
        return (
            f"{self.operation}: {self.node} on {self.table} (~{self.rows:,} rows) in {self.statement[:160]}…"
        )


@pytest.fixture(scope="module")
def scene(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Scene]:
    with django_db_blocker.unblock():
        generate(scale=SCALE, seed=3)  # ANALYZEs what it wrote
        try:
            yield build_scene()
        finally:
            # Other suites expect no generated firm (the benchmark's tiny run makes its own).
            call_command("flush", interactive=False, verbosity=0)


def _context_of(statements: list[str]) -> str:
    return next(s for s in statements if "crm_request_context" in s)


def capture_operations(scene: Scene) -> list[Captured]:
    """Each hot operation's statements, sent once through the API as the scene's manager."""
    captured = []
    for operation in scene.operations:
        for call in operation.calls[:1]:
            request = baselines.capture(call, scene.token)
            assert request.status == operation.expect, (operation.name, request.status)
            captured.append(Captured(operation.name, _context_of(request.statements), request.statements))
    return captured


def capture_admin(user: User) -> list[Captured]:
    """The admin's changelists of the big tables, first page and a search, as `user`."""
    client = Client()
    client.force_login(user)
    captured = []
    for path in ADMIN_CHANGELISTS:
        for query in ("", "?q=sm"):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(path + query)
            assert response.status_code == 200, (path, response.status_code)
            statements = [q["sql"] for q in queries.captured_queries]
            captured.append(Captured(f"admin {path}{query}", _context_of(statements), statements))
    return captured


def _reltuples() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.reltuples::bigint FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'"
        )
        return dict(cursor.fetchall())


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


def _search_function_queries(statement: str) -> list[str]:
    """The queries the search functions a statement calls run inside (as the owner), with the term."""
    queries = []
    for function, term in SEARCH_CALL.findall(statement):
        with connection.cursor() as cursor:
            cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = %s", [function])
            (body,) = cursor.fetchone()
        queries.append(re.sub(r"\bquery\b", f"'{term}'", body))
    return queries


def big_seq_scans(captured: list[Captured]) -> list[BigSeqScan]:
    """EXPLAIN every statement under its request's RLS context; the sequential scans of big tables."""
    sizes = _reltuples()
    found = []
    with connection.cursor() as cursor:
        for item in captured:
            for statement in item.statements:
                if not EXPLAINED.match(statement) or "crm_request_context" in statement:
                    continue
                if "crm_auth_user(" in statement:  # the session's user, read by the owner before the switch
                    continue
                inner = _search_function_queries(statement)
                with transaction.atomic():
                    cursor.execute(item.context)
                    cursor.execute(f"EXPLAIN (FORMAT JSON) {statement}")
                    plans = [cursor.fetchone()[0]]
                    # The search functions run as the owner: their plans are the owner's.
                    cursor.execute("SET LOCAL role = NONE")
                    for query in inner:
                        cursor.execute(f"EXPLAIN (FORMAT JSON) {query}")
                        plans.append(cursor.fetchone()[0])
                    transaction.set_rollback(True)  # drops the role and the request's variables
                for plan in plans:
                    document = json.loads(plan) if isinstance(plan, str) else plan
                    for node in _nodes(document[0]["Plan"]):
                        table = str(node.get("Relation Name") or "")
                        if node["Node Type"] == "Seq Scan" and sizes.get(table, 0) > BIG_TABLE_ROWS:
                            kind = "Parallel Seq Scan" if node.get("Parallel Aware") else "Seq Scan"
                            found.append(BigSeqScan(item.operation, table, sizes[table], kind, statement))
    return found


@pytest.mark.django_db
def test_the_generated_firm_is_big_enough_for_the_check_to_mean_something(scene: Scene) -> None:
    sizes = _reltuples()
    assert sizes["contact"] > BIG_TABLE_ROWS and sizes["opportunity"] > BIG_TABLE_ROWS
    assert sizes["interaction"] > 10 * BIG_TABLE_ROWS


@pytest.mark.django_db
def test_no_hot_query_reads_a_big_table_sequentially(scene: Scene, settings: Any) -> None:
    # As deployed, rate limits on: the capture runs the operations without them, so what is EXPLAINed as
    # the runtime role is the operations' SQL alone (the limiter's statement is the owner's, before it).
    settings.RATE_LIMIT_ENABLED = True
    captured = capture_operations(scene) + capture_admin(scene.manager)
    explained = {item.operation for item in captured}
    assert {
        "contacts: everyone by name",
        "interactions: search",
        "admin /admin/interactions/interaction/",
    } <= explained
    assert any(name.startswith("interactions: cursor page") for name in explained)
    scans = big_seq_scans(captured)
    known = {name for scan in scans for name, pattern in KNOWN.items() if pattern.match(scan.statement)}
    unknown = [scan for scan in scans if not any(pattern.match(scan.statement) for pattern in KNOWN.values())]
    assert not unknown, "sequential scans of big tables:\n" + "\n".join(map(str, unknown))
    assert known <= set(KNOWN)


@pytest.mark.django_db
def test_the_check_names_the_query_the_node_and_the_table_when_an_index_is_missing(scene: Scene) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX contact_live_name")  # rolled back with the test's transaction
        cursor.execute("DROP INDEX contact_scope")
    captured = [c for c in capture_operations(scene) if c.operation == "contacts: everyone by name"]
    scans = big_seq_scans(captured)
    assert scans and {(s.operation, s.table) for s in scans} == {("contacts: everyone by name", "contact")}
    assert "Seq Scan on contact" in str(scans[0])
