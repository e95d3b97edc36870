"""Each role reads, updates and deletes exactly the rows domain.md's "Who sees what" table gives it.

Every statement runs over the whole table (both firms), so one assertion proves both halves: the rows
the role may reach are all there, and nothing else is (no other tenant, no principal outside the
book, no shared row the table keeps from the role). Hidden rows make updates and deletes affect
nothing, without an error. A hard DELETE is refused outright unless the transaction purges
(crm.purge = on), so the DELETE policies are proven under that switch, and the refusal separately.
"""

from __future__ import annotations

import pytest
from django.db import connection

from tests.rls.rules import BUSINESS_TABLES, SOFT_DELETED_TABLES, TENANT_TABLES
from tests.rls.support import (
    INSUFFICIENT_PRIVILEGE,
    PERSONAS,
    RESTRICT_VIOLATION,
    World,
    acting,
    attempt,
    fetch_ids,
    owner_value,
    runtime_may,
    scalar,
)

EVERYONE = {*PERSONAS, "key"}  # the members, and the firm's API key's user
BOOK = {"admin": {"a", "b"}, "manager": {"a"}, "other_manager": {"b"}, "viewer": {"a"}}

# The domain's table, one entry per kind of table: persona -> row labels of the persona's own firm.
READS: dict[str, dict[str, set[str]]] = {
    "principal_scoped": BOOK,
    "shared_for_all_roles": {p: BOOK[p] | {"shared"} for p in PERSONAS},
    "shared_not_for_viewers": {p: BOOK[p] | ({"shared"} if p != "viewer" else set()) for p in PERSONAS},
    "shared_only": {p: {"shared"} for p in PERSONAS},
    "members": {p: EVERYONE if p == "admin" else {p} for p in PERSONAS},
    "firm": {p: {"own"} for p in PERSONAS},
    "own_entries": {p: {p} for p in PERSONAS},
    "keys": {p: {"key"} if p == "admin" else set() for p in PERSONAS},
    "own_imports": {p: set(PERSONAS) if p == "admin" else {p} for p in PERSONAS},
    "webhooks": {p: {"hook"} if p == "admin" else set() for p in PERSONAS},
    "webhook_deliveries": {p: {"hook"} if p == "admin" else set() for p in PERSONAS},
    "firm_settings": {p: {"figures"} for p in PERSONAS},
    "sales_facts": BOOK,
    # The principal's when a product was recognised, else the importer's and the admins'.
    "sales_unmatched": {p: BOOK[p] | (set(PERSONAS) if p == "admin" else {p}) for p in PERSONAS},
    "sales_shared": {p: {"shared"} for p in PERSONAS},
}
UPDATES: dict[str, dict[str, set[str]]] = {
    "principal_scoped": {**BOOK, "viewer": set()},
    "shared_for_all_roles": {**READS["shared_for_all_roles"], "viewer": set()},
    "shared_not_for_viewers": {**READS["shared_not_for_viewers"], "viewer": set()},
    "shared_only": {**READS["shared_only"], "viewer": set()},
    "members": {p: EVERYONE if p == "admin" else set() for p in PERSONAS},
    "firm": {
        p: set() for p in PERSONAS
    },  # firms are renamed by the owner only (names are unique across firms)
    "own_entries": {p: set() for p in PERSONAS},  # the admin log is append-only
    "keys": {p: set() for p in PERSONAS},  # admins revoke (revoked_at alone); nothing else is writable
    # The importer's (the job acting as them keeps its progress), whatever their role is by now.
    "own_imports": {p: {p} for p in PERSONAS},
    "webhooks": {p: {"hook"} if p == "admin" else set() for p in PERSONAS},
    "webhook_deliveries": {p: {"hook"} if p == "admin" else set() for p in PERSONAS},  # a redelivery
    "firm_settings": {p: {"figures"} if p == "admin" else set() for p in PERSONAS},
    "sales_facts": {**BOOK, "viewer": set()},
    "sales_unmatched": {
        p: (BOOK[p] | (set(PERSONAS) if p == "admin" else {p})) if p != "viewer" else set() for p in PERSONAS
    },
    "sales_shared": {p: {"shared"} if p != "viewer" else set() for p in PERSONAS},
}
DELETES: dict[str, dict[str, set[str]]] = {
    # A real DELETE is a purge: admins only (everyone else soft-deletes through UPDATE).
    **{
        kind: {p: (rows if p == "admin" else set()) for p, rows in by_persona.items()}
        for kind, by_persona in UPDATES.items()
    },
    "members": UPDATES["members"],
    "firm": {p: set() for p in PERSONAS},  # a firm is never deleted through the runtime role
    "own_imports": {p: set() for p in PERSONAS},  # an import is never deleted through the runtime role
    "webhook_deliveries": {p: set() for p in PERSONAS},  # they go with their endpoint, in the database
    "firm_settings": {p: set() for p in PERSONAS},  # they go with the firm
    # Not business records: writers delete them (a re-imported period, a confirmed kept row, an alias).
    "sales_facts": UPDATES["sales_facts"],
    "sales_unmatched": UPDATES["sales_unmatched"],
    "sales_shared": UPDATES["sales_shared"],
}
# An admin cannot delete their own membership (and lock the firm out); assignments have no such rule.
MEMBERSHIP_DELETES = {p: EVERYONE - {"admin"} if p == "admin" else set() for p in PERSONAS}

KIND = {
    "tenant": "firm",
    "membership": "members",
    "principal_assignment": "members",
    "organization": "shared_for_all_roles",
    "customer_distributor": "shared_only",
    "distributor_authorization": "principal_scoped",
    "contact": "shared_not_for_viewers",
    "product": "principal_scoped",
    "product_distributor": "principal_scoped",
    "opportunity": "principal_scoped",
    "opportunity_product": "principal_scoped",
    "opportunity_contact": "principal_scoped",
    "interaction": "shared_not_for_viewers",
    "sample": "principal_scoped",
    "sample_line": "principal_scoped",
    "task": "shared_not_for_viewers",
    "django_admin_log": "own_entries",
    "history": "history_of_visible_rows",
    "api_key": "keys",
    "import_run": "own_imports",
    "webhook_endpoint": "webhooks",
    "webhook_delivery": "webhook_deliveries",
    "stage_probability": "firm_settings",
    "sales_fact": "sales_facts",
    "sales_unmatched": "sales_unmatched",
    "sales_customer_alias": "sales_shared",
    "sales_column_mapping": "sales_shared",
}
# A history entry is labelled "<table>:<label of the row it describes>" and is read by exactly those
# who read that row: the domain's table again, through the kind of the described table.
READS["history_of_visible_rows"] = {
    p: {f"{table}:{label}" for table in BUSINESS_TABLES for label in READS[KIND[table]][p]} for p in PERSONAS
}
UPDATES["history_of_visible_rows"] = {p: set() for p in PERSONAS}  # append-only, for everyone
DELETES["history_of_visible_rows"] = {p: set() for p in PERSONAS}
CASES = [(table, persona) for table in KIND for persona in PERSONAS]
CASE_IDS = [f"{table}-{persona}" for table, persona in CASES]


def expected(world: World, table: str, labels: set[str]) -> set[int]:
    """The Acme rows with these labels: no expectation ever includes a row of the other firm."""
    return world.acme.ids(table, labels)


def test_every_tenant_table_has_a_kind_in_the_domain_table() -> None:
    assert set(KIND) == set(TENANT_TABLES)


@pytest.mark.parametrize(("table", "persona"), CASES, ids=CASE_IDS)
def test_role_reads_exactly_its_book_and_the_shared_rows_the_table_allows(
    db: None, world: World, table: str, persona: str
) -> None:
    with acting(world.acme, persona):
        visible = fetch_ids(f"SELECT id FROM {table}")
        counted = scalar(f"SELECT count(*) FROM {table}")
    assert visible == expected(world, table, READS[KIND[table]][persona])
    assert counted == len(visible), "counts must not reveal hidden rows"


@pytest.mark.parametrize(("table", "persona"), CASES, ids=CASE_IDS)
def test_update_reaches_exactly_the_rows_the_role_may_write(
    db: None, world: World, table: str, persona: str
) -> None:
    want = expected(world, table, UPDATES[KIND[table]][persona])
    with acting(world.acme, persona):
        outcome = attempt(f"UPDATE {table} SET id = id RETURNING id")
        granted = runtime_may(table, "UPDATE")
    if not granted:
        assert not want
        assert outcome.sqlstate == INSUFFICIENT_PRIVILEGE, "no UPDATE privilege at all on this table"
        return
    assert outcome.error is None, (
        f"updating rows one cannot write must affect nothing, not fail: {outcome.error}"
    )
    assert outcome.ids == want


@pytest.mark.parametrize(("table", "persona"), CASES, ids=CASE_IDS)
def test_purging_delete_reaches_exactly_the_rows_the_role_may_write(
    db: None, world: World, table: str, persona: str
) -> None:
    labels = MEMBERSHIP_DELETES[persona] if table == "membership" else DELETES[KIND[table]][persona]
    want = expected(world, table, labels)
    with acting(world.acme, persona):
        # Foreign keys are checked at commit; the test's savepoint is rolled back before that.
        outcome = attempt(f"DELETE FROM {table} RETURNING id", purge=True)
        granted = runtime_may(table, "DELETE")
    if not granted:
        assert not want
        assert outcome.sqlstate == INSUFFICIENT_PRIVILEGE, "no DELETE privilege at all on this table"
        return
    assert outcome.error is None, (
        f"deleting rows one cannot write must affect nothing, not fail: {outcome.error}"
    )
    assert outcome.ids == want


def tables_refusing_hard_delete() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger"
            " WHERE tgname LIKE '%%refuse_hard_delete%%' AND NOT tgisinternal AND tgenabled <> 'D'"
        )
        return {name for (name,) in cursor.fetchall()}


def tables_with_soft_delete() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.relname FROM pg_class c
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'deleted_at' AND NOT a.attisdropped
                WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')"""
        )
        return {name for (name,) in cursor.fetchall()}


def test_exactly_the_soft_deleted_tables_refuse_hard_deletes(db: None) -> None:
    """The catalog, not this file, says which tables have the trigger: the business tables and the
    assignments (revoked by deleted_at); never members, firms, the admin log or history."""
    refusing = tables_refusing_hard_delete()
    assert refusing == set(SOFT_DELETED_TABLES)
    assert refusing == tables_with_soft_delete()
    assert set(BUSINESS_TABLES) < refusing


def writable_row(world: World, table: str, persona: str) -> int:
    labels = UPDATES[KIND[table]][persona]
    return min(expected(world, table, labels))


HARD_DELETES = [
    (table, persona)
    for table in SOFT_DELETED_TABLES
    for persona in PERSONAS
    if UPDATES[KIND[table]][persona]  # a row the persona may write exists
]


@pytest.mark.parametrize(("table", "persona"), HARD_DELETES, ids=[f"{t}-{p}" for t, p in HARD_DELETES])
def test_hard_delete_of_a_writable_row_is_refused_without_purge(
    db: None, world: World, table: str, persona: str
) -> None:
    pk = writable_row(world, table, persona)
    count = f"SELECT count(*) FROM {table}"
    before = scalar(count)
    with acting(world.acme, persona):
        assert attempt(f"UPDATE {table} SET id = id WHERE id = %s RETURNING id", [pk]).ids == {pk}
        by_id = attempt(f"DELETE FROM {table} WHERE id = %s RETURNING id", [pk], keep=True)
        everything = attempt(f"DELETE FROM {table} RETURNING id", keep=True)
    if persona == "admin":  # the DELETE policy lets admins reach the row: the trigger refuses
        assert by_id.sqlstate == RESTRICT_VIOLATION, by_id.error
        assert everything.sqlstate == RESTRICT_VIOLATION, everything.error
    else:  # for anyone else the DELETE policy reaches no row at all
        assert by_id.ids == set() and by_id.error is None, by_id.error
        assert everything.ids == set() and everything.error is None, everything.error
    assert scalar(count) == before, "nothing was deleted"
    assert owner_value(table, pk, "deleted_at") is None, "not even soft-deleted"


def test_viewer_reads_shared_organizations_but_not_shared_contacts_or_interactions(
    db: None, world: World
) -> None:
    ref = world.acme.ref
    with acting(world.acme, "viewer"):
        organizations = fetch_ids("SELECT id FROM organization")
        contacts = fetch_ids("SELECT id FROM contact")
        interactions = fetch_ids("SELECT id FROM interaction")
    assert {ref["customer"], ref["distributor"]} <= organizations
    assert ref["contact_shared"] not in contacts and ref["contact_a"] in contacts
    assert ref["interaction_shared"] not in interactions and ref["interaction_a"] in interactions


def test_managers_with_different_books_see_disjoint_principal_rows(db: None, world: World) -> None:
    for table in ("product", "opportunity"):
        seen = {}
        for persona in ("manager", "other_manager"):
            with acting(world.acme, persona):
                seen[persona] = fetch_ids(f"SELECT id FROM {table}")
        assert seen["manager"] and seen["other_manager"]
        assert not seen["manager"] & seen["other_manager"]


def test_admin_reads_every_principal_without_any_assignment(db: None, world: World) -> None:
    with acting(world.acme, "admin") as context:
        principals = fetch_ids("SELECT id FROM organization WHERE type = 'principal'")
        own_assignments = fetch_ids(
            "SELECT id FROM principal_assignment WHERE user_id = %s", [context.user_id]
        )
    assert principals == {world.acme.ref["principal_a"], world.acme.ref["principal_b"]}
    assert not own_assignments
