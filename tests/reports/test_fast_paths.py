"""The reports' fast paths give the answers the plain reading gives, and never widen what RLS shows.

The selectors take the caller's book as literal ids (so the planner can read just the book's principals),
probe each stale account's last touch through a covering index, and drop soft-deleted customers from
distributor coverage by an anti-join. These tests pin what each of those must not change.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from psycopg import sql

from crm import rls
from organizations.models import Organization
from reports import selectors
from tests import factories as f
from tests.reports.support import World

# The selectors that take a book, each called for the whole of the world's firm.
BOOK_REPORTS: dict[str, Callable[..., Any]] = {
    "pipeline": selectors.pipeline_report,
    "weekly-activity": selectors.weekly_activity_report,
    "stale-accounts": selectors.stale_accounts_report,
    "stale-opportunities": selectors.stale_opportunities_report,
    "win-loss": selectors.win_loss_report,
}


def _report(world: World, name: str, role: str, book: tuple[int, ...] | None) -> dict[str, Any]:
    with rls.acting_as(world.user(role).pk):
        report = BOOK_REPORTS[name](tenant_id=world.firm.tenant.pk, today=world.today, book=book)
    return asdict(report)  # type: ignore[no-any-return]


def test_book_of_is_the_book_for_managers_and_viewers_and_the_whole_firm_for_admins(world: World) -> None:
    a = world.firm.principal_a.pk
    for role, expected in (("manager", (a,)), ("viewer", (a,)), ("admin", None)):
        with rls.acting_as(world.user(role).pk) as context:
            assert selectors.book_of(context) == expected, role


@pytest.mark.parametrize("name", sorted(BOOK_REPORTS))
def test_a_book_wider_than_the_callers_never_widens_a_report(world: World, name: str) -> None:
    own = (world.firm.principal_a.pk,)
    # Principal B (another manager's) and the rival firm's principal: RLS still hides them.
    wider = (*own, world.firm.principal_b.pk, world.rival.principal_a.pk)
    for role in ("manager", "viewer"):
        narrow = _report(world, name, role, own)
        assert _report(world, name, role, wider) == narrow, role
        assert _report(world, name, role, None) == narrow, role
    # And the admin's firm-wide report is what their RLS shows, book or not.
    assert _report(world, name, "admin", None) != _report(world, name, "admin", own)


def test_a_book_narrows_an_admins_report_to_its_principals(world: World) -> None:
    # The admin's pipeline with principal A's book is exactly the manager's (whose book is A).
    admin = _report(world, "pipeline", "admin", (world.firm.principal_a.pk,))
    manager = _report(world, "pipeline", "manager", (world.firm.principal_a.pk,))
    assert admin == manager
    assert [p["principal"] for p in admin["principals"]] == [world.firm.principal_a.pk]


def test_coverage_leaves_soft_deleted_customers_out_of_every_count(world: World) -> None:
    a = world.firm.principal_a

    def served() -> tuple[int, int, int]:
        body = world.get("manager", "distributor-coverage", principal=a.pk)
        line = body["distributors"][0]
        return line["customers_served"], line["primary_customers"], body["customers_reached"]

    before = served()
    diner2 = f.CustomerFactory(tenant=world.firm.tenant, name="Acme Diner Two")
    f.CustomerDistributorFactory(
        tenant=world.firm.tenant, customer=diner2, distributor=world.firm.distributor, is_primary=True
    )
    assert served() == (before[0] + 1, before[1] + 1, before[2] + 1)
    Organization.objects.filter(pk=diner2.pk).update(deleted_at=timezone.now())
    assert served() == before


def test_stale_accounts_probe_each_accounts_last_touch_through_the_covering_index(world: World) -> None:
    """The manager's report reads interactions only through an index, one LIMIT 1 probe per account
    (LATERAL), never a scan of the firm's interactions. Which index the planner takes on this tiny data set
    varies (interaction_account_touch at scale; tests/perf/test_explain_hot_queries.py checks that)."""
    with rls.acting_as(world.firm.manager.pk) as context, connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        params = {
            "tenant": world.firm.tenant.pk,
            "book": list(context.book),
            "start": timezone.now(),
            "end": timezone.now(),
            "as_of": world.today,
            "zone": "UTC",
            "principal": None,
            "owner": None,
            "limit": 100,
        }
        query = sql.SQL("EXPLAIN (FORMAT JSON) {}").format(selectors.stale_accounts_query(params))
        cursor.execute(query.as_string(cursor.connection), params)
        plan = cursor.fetchone()[0]
    scans: list[tuple[str, str | None, bool]] = []

    def walk(node: dict[str, Any], under_limit: bool) -> None:
        if node.get("Relation Name") == "interaction":
            scans.append((node["Node Type"], node.get("Index Name"), under_limit))
        for child in node.get("Plans", []):
            walk(child, under_limit or node["Node Type"] == "Limit")

    walk((plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"], False)
    assert scans, plan
    assert all(kind in ("Index Scan", "Index Only Scan") for kind, _, _ in scans), scans
    assert all(under_limit for _, _, under_limit in scans), scans
