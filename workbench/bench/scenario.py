"""What the benchmark asks: a Sales Manager with a typical book, and the hot operations of their day.

Ids come from the generated firm itself (read as the owner), chosen the way a manager would meet them:
their busiest principal, that principal's busiest account, its contacts and open deals. The deep
cursor page is built with the API's own paginator from the row ~10,000 deep in the manager's view.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.db import connection
from django.urls import Resolver404, resolve
from django.utils import timezone

from crm import rls
from crm.api.keyset import encode_cursor
from crm.models import Tenant, User
from crm.tokens import tokens_for
from interactions.models import Interaction
from workbench.bench.load import Call
from workbench.datagen import GENERATED_MARK

API = "/api/v1"
DEEP_ROWS = 10_000
POOL = 100  # rows the write operations rotate through
BATCH = 20  # operations per batch (crm.api.batch), beside the single writes they would replace

# Query budgets: the statements one request may run in production (`benchmark --silk-replay` fails a
# request over it). The test suite asserts at most 6 for a list or detail page, expanded or not
# (tests/api/test_query_counts.py), and 9 for a report (tests/reports/test_queries.py), counting 3
# statements only a test's outer transaction adds: SAVEPOINT, the RLS reset (rls.end) and RELEASE.
# Searches and the deep page are list pages. Writes and the timeline have no bound in the suite (only
# "does not grow with the rows"): theirs are what they run today.
TEST_ONLY_STATEMENTS = 3
PAGE_BUDGET = 6 - TEST_ONLY_STATEMENTS
REPORT_BUDGET = 9 - TEST_ONLY_STATEMENTS
GROUP_BUDGETS = {
    "list": PAGE_BUDGET,
    "deep page": PAGE_BUDGET,
    "search": PAGE_BUDGET,
    "expand": PAGE_BUDGET,
    "detail": PAGE_BUDGET,
    "timeline": 3,  # RLS context, the organization, one merged page
    "duplicates": 2,  # RLS context, the page of pairs (ADR 0029)
    "report": REPORT_BUDGET,
}


@dataclass(frozen=True)
class Operation:
    """One hot operation: the calls it rotates through; `baseline` for list and detail pages."""

    name: str
    group: str
    calls: tuple[Call, ...]
    baseline: bool = False
    expect: int = 200
    query_budget: int | None = None  # statements one request may run; see GROUP_BUDGETS
    items: int = 1  # records one request writes: a batch's operations (the report divides by it)


@dataclass
class Scene:
    tenant: Tenant
    manager: User
    book: list[int]
    token: str
    facts: dict[str, Any] = field(default_factory=dict)
    operations: list[Operation] = field(default_factory=list)


class NoGeneratedData(Exception):
    pass


def _rows(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _one(sql: str, params: Sequence[Any]) -> Any:
    rows = _rows(sql, params)
    return rows[0][0] if rows else None


def generated_tenant() -> Tenant | None:
    return Tenant.objects.filter(name__contains=GENERATED_MARK).order_by("id").first()


def typical_manager(tenant: Tenant) -> tuple[User, list[int]]:
    """The manager whose book size is the firm's median (ties: the lower id)."""
    books = _rows(
        "SELECT m.user_id, array_agg(pa.principal_id ORDER BY pa.principal_id) FROM membership m"
        " JOIN principal_assignment pa ON pa.user_id = m.user_id AND pa.deleted_at IS NULL"
        " WHERE m.tenant_id = %s AND m.role = 'manager' GROUP BY m.user_id ORDER BY count(*), m.user_id",
        [tenant.pk],
    )
    if not books:
        raise NoGeneratedData(f"firm {tenant.pk} has no manager with a book")
    user_id, book = books[(len(books) - 1) // 2]
    return User.objects.get(pk=user_id), list(book)


def _deep_cursor(manager: User, tenant: Tenant) -> tuple[str, int]:
    """The interactions list's cursor ~DEEP_ROWS rows in, as the manager sees them (RLS applies)."""
    with rls.acting_as(manager.pk):
        visible = Interaction.objects.filter(tenant_id=tenant.pk, deleted_at__isnull=True)
        depth = DEEP_ROWS
        row = visible.order_by("-occurred_at", "-id")[depth : depth + 1].first()
        if row is None:
            depth = visible.count() // 2
            row = visible.order_by("-occurred_at", "-id")[depth : depth + 1].first()
    if row is None:
        return "", 0
    return encode_cursor(row, ["-occurred_at", "-id"], backwards=False), depth


# Tasks a typical manager has (the data generator makes none): the benchmark gives its manager these, once,
# spread over the past year and the coming month, most of them done, about the deals of their book.
MANAGER_TASKS = 2_000


def _give_tasks(manager: User, tenant: Tenant, book: Sequence[int]) -> int:
    """The manager's tasks, made once as the owner (the database fills the scope, history and audit)."""
    have = _one(
        "SELECT count(*) FROM task WHERE tenant_id = %s AND assignee_id = %s", [tenant.pk, manager.pk]
    )
    if have:
        return int(have)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO task (tenant_id, created_by_id, updated_by_id, assignee_id, title, notes, due_on,"
            " priority, status, opportunity_id, organization_id, created_at, updated_at, version)"
            " SELECT %(tenant)s, %(user)s, %(user)s, %(user)s, 'Follow up on ' || o.name, '',"
            "        current_date - 365 + (n * 397 / %(count)s), (ARRAY['low','normal','high','urgent'])[1 + n %% 4],"
            "        CASE WHEN n < %(count)s * 9 / 10 THEN 'done' ELSE 'open' END, o.id, o.customer_id, now(), now(), 1"
            "   FROM generate_series(0, %(count)s - 1) n"
            "   JOIN LATERAL (SELECT id, name, customer_id FROM opportunity WHERE tenant_id = %(tenant)s"
            "                   AND principal_id = %(principal)s AND deleted_at IS NULL"
            "                 ORDER BY id OFFSET n %% 50 LIMIT 1) o ON true",
            {"tenant": tenant.pk, "user": manager.pk, "count": MANAGER_TASKS, "principal": book[0]},
        )
        return cursor.rowcount


def route_exists(path: str) -> bool:
    try:
        resolve(path.split("?")[0])
    except Resolver404:
        return False
    return True


def _get(path: str, **params: Any) -> Call:
    query = f"?{urlencode(params)}" if params else ""
    return Call("GET", f"{API}{path}{query}")


def build_scene(tenant: Tenant | None = None) -> Scene:
    """The scene for `tenant` (default: the database's first generated firm)."""
    tenant = tenant or generated_tenant()
    if tenant is None:
        raise NoGeneratedData("no generated firm in this database: run generate_data first")
    manager, book = typical_manager(tenant)
    token = str(tokens_for(manager).access_token)
    busy = (
        _one(
            "SELECT principal_id FROM interaction WHERE tenant_id = %s AND principal_id = ANY(%s)"
            " GROUP BY principal_id ORDER BY count(*) DESC, principal_id LIMIT 1",
            [tenant.pk, book],
        )
        or book[0]
    )
    customer = _one(
        "SELECT i.organization_id FROM interaction i JOIN organization o ON o.id = i.organization_id"
        " WHERE i.tenant_id = %s AND i.principal_id = %s AND o.type IN ('customer', 'prospect')"
        " GROUP BY i.organization_id ORDER BY count(*) DESC, i.organization_id LIMIT 1",
        [tenant.pk, busy],
    )
    contacts = [
        r[0]
        for r in _rows(
            "SELECT id FROM contact WHERE organization_id = %s AND deleted_at IS NULL ORDER BY id", [customer]
        )
    ]
    open_deals = [
        r[0]
        for r in _rows(
            "SELECT id FROM opportunity WHERE tenant_id = %s AND principal_id = ANY(%s) AND deleted_at IS NULL"
            " AND stage IN ('new_lead', 'initial_outreach') ORDER BY id LIMIT %s",
            [tenant.pk, book, POOL],
        )
    ]
    deal = _one(
        "SELECT id FROM opportunity WHERE customer_id = %s AND principal_id = %s AND deleted_at IS NULL"
        " ORDER BY (stage IN ('closed_won', 'closed_lost')), id LIMIT 1",
        [customer, busy],
    )
    recent = [
        r[0]
        for r in _rows(
            "SELECT id FROM interaction WHERE tenant_id = %s AND principal_id = %s AND deleted_at IS NULL"
            " ORDER BY occurred_at DESC, id DESC LIMIT %s",
            [tenant.pk, busy, POOL],
        )
    ]
    if customer is None or not contacts or not open_deals or deal is None or not recent:
        raise NoGeneratedData(f"firm {tenant.pk} is too small to benchmark (generate at least --scale 0.01)")
    cursor, depth = _deep_cursor(manager, tenant)
    tasks = _give_tasks(manager, tenant, book)
    today = timezone.now().date()
    since = (timezone.now() - dt.timedelta(days=90)).replace(microsecond=0).isoformat()
    customer_name = _one("SELECT name FROM organization WHERE id = %s", [customer]) or "a"
    last_name = _one("SELECT last_name FROM contact WHERE id = %s", [contacts[0]]) or "a"
    principal_name = _one("SELECT name FROM organization WHERE id = %s", [busy]) or "a"

    scene = Scene(tenant=tenant, manager=manager, book=book, token=token)
    scene.facts = {
        "tenant": tenant.pk,
        "manager": manager.pk,
        "book_size": len(book),
        "busy_principal": busy,
        "account": customer,
        "deep_cursor_rows": depth,
        "manager_tasks": tasks,
    }
    ops: list[Operation] = []

    def add(
        name: str,
        group: str,
        *calls: Call,
        baseline: bool = False,
        expect: int = 200,
        budget: int | None = None,
        items: int = 1,
    ) -> None:
        budget = GROUP_BUDGETS.get(group) if budget is None else budget
        ops.append(Operation(name, group, calls, baseline, expect, budget, items))

    add("organizations: customers by name", "list", _get("/organizations/", type="customer"), baseline=True)
    add("contacts: everyone by name", "list", _get("/contacts/"), baseline=True)
    add("contacts: at an account", "list", _get("/contacts/", organization=customer), baseline=True)
    add("products: a principal's line", "list", _get("/products/", principal=busy), baseline=True)
    add("opportunities: recently updated", "list", _get("/opportunities/"), baseline=True)
    add(
        "opportunities: open, a principal, by volume",
        "list",
        _get("/opportunities/", principal=busy, is_open="true", ordering="-weighted_weekly_volume"),
        baseline=True,
    )
    add("opportunities: a stage", "list", _get("/opportunities/", stage="demo_scheduled"), baseline=True)
    add("interactions: recent", "list", _get("/interactions/"), baseline=True)
    add(
        "interactions: a principal, 90 days",
        "list",
        _get("/interactions/", principal=busy, occurred_after=since),
        baseline=True,
    )
    add(
        "tasks: mine, open, due by next week",
        "list",
        _get(
            "/tasks/",
            assignee="me",
            status="open",
            due_before=(today + dt.timedelta(days=7)).isoformat(),
        ),
        baseline=True,
    )
    add(
        "interactions: my follow-ups due",
        "list",
        _get("/interactions/", user=manager.pk, follow_up_due=today.isoformat()),
        baseline=True,
    )
    # Samples read with their lines (one more statement a page: the lines' prefetch), open ones by default.
    add("samples: open", "list", _get("/samples/"), budget=PAGE_BUDGET + 1)
    add(
        "samples: a principal's, awaiting feedback",
        "list",
        _get("/samples/", principal=busy, awaiting_feedback="true"),
        budget=PAGE_BUDGET + 1,
    )
    if cursor:
        add(
            f"interactions: cursor page ~{depth:,} rows in",
            "deep page",
            _get("/interactions/", cursor=cursor),
        )
    add("organizations: search", "search", _get("/organizations/", search=customer_name.split()[0][:4]))
    add("contacts: search", "search", _get("/contacts/", search=last_name[:4]))
    # + the capped id probe in its savepoint with its own statement timeout (crm.api.filters.search): 5
    add(
        "interactions: search",
        "search",
        _get("/interactions/", search=principal_name.split()[0][:5]),
        budget=PAGE_BUDGET + 5,
    )
    add(
        "opportunities: expand 4 relations",
        "expand",
        _get("/opportunities/", expand="principal,customer,distributor,owner"),
    )
    add(
        "interactions: expand 4 relations",
        "expand",
        _get("/interactions/", expand="organization,contact,principal,user"),
    )
    add("organizations: detail", "detail", _get(f"/organizations/{customer}/"), baseline=True)
    add("contacts: detail", "detail", _get(f"/contacts/{contacts[0]}/"), baseline=True)
    add("opportunities: detail", "detail", _get(f"/opportunities/{deal}/"), baseline=True)
    add("interactions: detail", "detail", _get(f"/interactions/{recent[0]}/"), baseline=True)

    def new_call(n: int) -> dict[str, Any]:
        return {
            "type": "call",
            "occurred_at": timezone.now().replace(microsecond=0).isoformat(),
            "subject": f"Benchmark call {n} about {principal_name}",
            "organization": customer,
            "contact": contacts[n % len(contacts)],
            "opportunity": deal,
            "outcome": "Asked for a sample case next week.",
            "sentiment": "positive",
        }

    add(
        "interactions: create",
        "write",
        Call("POST", f"{API}/interactions/", new_call(0)),
        expect=201,
        budget=8,  # RLS context, the 3 referenced rows checked, SAVEPOINT, INSERT, RELEASE, the row again
    )
    # The same writes BATCH at a time (crm.api.batch): `--only "interactions: create"` runs both.
    add(
        f"interactions: create, batch of {BATCH}",
        "write",
        Call(
            "POST",
            f"{API}/interactions/batch/",
            {"operations": [{"op": "create", "data": new_call(n)} for n in range(BATCH)]},
        ),
        # RLS context, SAVEPOINT, the 3 referenced fields' rows (one query each), an INSERT per operation,
        # RELEASE, the rows again (one query)
        budget=7 + BATCH,
        items=BATCH,
    )
    add(
        "interactions: update",
        "write",
        *(
            Call("PATCH", f"{API}/interactions/{i}/", {"notes": f"Benchmark note {n}"})
            for n, i in enumerate(recent)
        ),
        budget=6,  # RLS context, the row, SAVEPOINT, UPDATE, RELEASE, the row again
    )
    if len(recent) >= BATCH:
        add(
            f"interactions: update, batch of {BATCH}",
            "write",
            *(
                Call(
                    "POST",
                    f"{API}/interactions/batch/",
                    {
                        "operations": [
                            {"op": "update", "id": i, "data": {"notes": f"Benchmark note {start + n}"}}
                            for n, i in enumerate(recent[start : start + BATCH])
                        ]
                    },
                )
                for start in range(0, len(recent) - BATCH + 1, BATCH)
            ),
            budget=5
            + BATCH,  # RLS context, SAVEPOINT, the rows (locked, one query), an UPDATE each, RELEASE, the rows again
            items=BATCH,
        )
    add(
        "opportunities: change stage",
        "write",
        *(
            Call("POST", f"{API}/opportunities/{o}/change-stage/", {"stage": stage})
            for stage in ("initial_outreach", "new_lead")
            for o in open_deals
        ),
        budget=6,
    )
    add("organizations: timeline", "timeline", _get(f"/organizations/{customer}/timeline/"))
    if route_exists(f"{API}/organizations/duplicates/"):
        # Candidate duplicates (ADR 0029), every live organization and contact the manager sees compared.
        add("organizations: duplicates", "duplicates", _get("/organizations/duplicates/"))
        add("contacts: duplicates", "duplicates", _get("/contacts/duplicates/"))
    # Each report as first opened, then rotating through the filters a manager narrows it by.
    quarter_ago, year_ago = (
        (today - dt.timedelta(days=90)).isoformat(),
        (today - dt.timedelta(days=365)).isoformat(),
    )
    mine, principal = {"owner": manager.pk}, {"principal": busy}
    reports: tuple[tuple[str, dict[str, Any], tuple[dict[str, Any], ...]], ...] = (
        ("pipeline", {}, (principal, mine, {"date_from": year_ago})),
        ("weekly-activity", {}, ({"weeks": 12, **principal}, mine, {"date_from": quarter_ago})),
        ("follow-ups", {}, (principal, {"date_from": quarter_ago})),
        ("stale-accounts", {}, (principal, {"days": 60, **mine}, {"date_from": quarter_ago})),
        ("stale-opportunities", {}, (principal, {"days": 45, **mine})),
        ("win-loss", {}, (principal, mine, {"date_from": year_ago, "date_to": today.isoformat()})),
        ("distributor-coverage", principal, ({**principal, **mine}, {**principal, "date_from": year_ago})),
        ("principal-scorecard", principal, ({**principal, **mine}, {**principal, "date_from": quarter_ago})),
    )
    # Sell-through (ADR 0034): the busy principal's biggest distributor and product narrow them; without
    # sales facts (a firm generated before them) the filters fall back to the principal and the weeks.
    seller = _rows(
        "SELECT distributor_id, product_id FROM sales_fact WHERE tenant_id = %s AND principal_id = %s"
        " AND period_start >= %s GROUP BY 1, 2 ORDER BY sum(cases) DESC, 1, 2 LIMIT 1",
        [tenant.pk, busy, today - dt.timedelta(weeks=13)],
    )
    by_seller = (
        ({"distributor": seller[0][0]}, {"product": seller[0][1], "weeks": 52})
        if seller
        else ({"weeks": 52},)
    )
    reports += (
        ("sales-velocity", {}, (principal, *by_seller, {"weeks": 4})),
        ("points-of-distribution", {}, (principal, *by_seller, {"date_from": year_ago})),
        ("buying-opportunities", {}, (principal, {"weeks": 4}, {"date_from": quarter_ago})),
    )
    for report, params, filters in reports:
        call = _get(f"/reports/{report}/", **params)
        if route_exists(call.path):
            # The scorecard's samples and its sell-through are two statements more than the other reports run.
            budget = REPORT_BUDGET + 2 if report == "principal-scorecard" else None
            add(f"reports: {report}", "report", call, budget=budget)
            add(
                f"reports: {report}, filtered",
                "report",
                *(_get(f"/reports/{report}/", **f) for f in filters),
                budget=budget,
            )
    if route_exists("/admin/dashboard/"):
        # The admin's sales dashboard (HTML): every report of the book, and one principal's scorecard
        # and coverage, in one request. The bearer token signs the manager in, as it does for the API.
        add(
            "reports: admin dashboard",
            "report",
            Call("GET", "/admin/dashboard/"),
            # RLS context, the user, the book's principals, the reports' own 17 statements (the scorecard's
            # sell-through one, the 13 weeks' velocity two); a process's first request runs 2 more, filling
            # Django's caches.
            budget=22,
        )
    scene.operations = ops
    return scene
