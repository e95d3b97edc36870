"""History, soft delete and concurrency under RLS: entries are written by the database alone, read by
exactly those who read the row they describe, never changed; version and deleted_by are the database's."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from crm import rls
from tests.rls.rules import BUSINESS_TABLES
from tests.rls.support import (
    INSUFFICIENT_PRIVILEGE,
    PERSONAS,
    World,
    acting,
    attempt,
    fetch_ids,
    owner_value,
    scalar,
)

BOOK = {"admin": {"a", "b"}, "manager": {"a"}, "other_manager": {"b"}, "viewer": {"a"}}
# Shared rows viewers read (domain.md); shared contacts and interactions they do not.
VIEWERS_SEE_SHARED = {"organization", "customer_distributor"}
RAISE_EXCEPTION = "P0001"  # pgtrigger.Protect: "Cannot update or delete rows from history table"


def rows(sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    """Result rows, with `changes` (jsonb, which Django's cursor leaves as text) decoded."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description or ()]
        return [
            tuple(
                json.loads(v) if n == "changes" and isinstance(v, str) else v
                for n, v in zip(names, row, strict=True)
            )
            for row in cursor.fetchall()
        ]


def trigger_tables(name: str) -> set[str]:
    return {
        table
        for (table,) in rows(
            "SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger"
            " WHERE tgname LIKE %s AND NOT tgisinternal AND tgenabled <> 'D'",
            [f"%{name}%"],
        )
    }


def sees(persona: str, table: str, label: str) -> bool:
    """domain.md's table for one described row of the acme firm."""
    if label == "shared":
        return persona != "viewer" or table in VIEWERS_SEE_SHARED
    return label in BOOK[persona]


def first(world: World, table: str, label: str) -> int:
    return min(world.acme.ids(table, {label}))


# ---------------------------------------------------------------------------------------------------
# Who writes history.


def test_every_business_table_and_nothing_else_records_history(db: None, world: World) -> None:
    """The catalog says which tables have record_history; the world's writes produced entries of each."""
    assert trigger_tables("record_history") == set(BUSINESS_TABLES)
    described = {label.split(":")[0] for label in world.acme.rows["history"]}
    assert described == set(BUSINESS_TABLES)


@pytest.mark.parametrize("persona", PERSONAS)
def test_runtime_role_cannot_insert_history_directly(db: None, world: World, persona: str) -> None:
    ref = world.acme.ref
    with acting(world.acme, persona):
        outcome = attempt(
            "INSERT INTO history (tenant_id, table_name, row_id, operation, request_id, occurred_at, changes,"
            " scope_principal_id, viewers_see_shared) VALUES (%s, 'opportunity', %s, 'update', '', now(),"
            """ '{"stage": ["new_lead", "closed_won"]}', %s, false) RETURNING id""",
            [world.acme.tenant_id, ref["opportunity_a"], ref["principal_a"]],
        )
    assert outcome.sqlstate == INSUFFICIENT_PRIVILEGE, outcome.error


def test_runtime_role_writes_produce_history_through_the_trigger(db: None, world: World) -> None:
    """Insert, update, soft delete, restore and purge by raw SQL, each an entry naming actor and request."""
    manager, admin = world.acme.user("manager").pk, world.acme.user("admin").pk
    with acting(world.acme, "manager", request_id="req-manager") as context:
        (pk,) = attempt(
            "INSERT INTO organization (name, type, priority, segment, status, phone, email, website, street,"
            " city, state, postal_code, country, notes) VALUES ('Harbor Grill', 'customer', 'B', '',"
            " 'active', '', '', '', '', '', '', '', 'US', '') RETURNING id",
            keep=True,
        ).ids
        for statement in (
            "UPDATE organization SET id = id WHERE id = %s",  # no change: no entry
            "UPDATE organization SET notes = 'Patio reopens in May' WHERE id = %s",
            "UPDATE organization SET deleted_at = now() WHERE id = %s",
            "UPDATE organization SET deleted_at = NULL WHERE id = %s",
        ):
            assert attempt(statement + " RETURNING id", [pk], keep=True).ids == {pk}
        entries = rows(
            "SELECT operation, actor_id, request_id, tenant_id, changes FROM history"
            " WHERE table_name = 'organization' AND row_id = %s ORDER BY id",
            [pk],
        )
    assert context.user_id == manager
    assert [entry[0] for entry in entries] == ["insert", "update", "delete", "restore"]
    assert {entry[1:4] for entry in entries} == {(manager, "req-manager", world.acme.tenant_id)}
    changes = [entry[4] for entry in entries]
    assert changes[0]["name"] == [None, "Harbor Grill"] and "version" not in changes[0]
    assert changes[1] == {"notes": ["", "Patio reopens in May"]}
    assert set(changes[2]) == {"deleted_at"} and changes[2]["deleted_at"][0] is None
    assert set(changes[3]) == {"deleted_at"} and changes[3]["deleted_at"][1] is None

    with acting(world.acme, "admin", request_id="req-purge"):
        assert attempt(
            "DELETE FROM organization WHERE id = %s RETURNING id", [pk], keep=True, purge=True
        ).ids == {pk}
        purged = rows(
            "SELECT operation, actor_id, changes FROM history WHERE request_id = 'req-purge' AND row_id = %s",
            [pk],
        )
    assert [(operation, actor) for operation, actor, _ in purged] == [("purge", admin)]
    assert purged[0][2]["name"] == ["Harbor Grill", None]


def test_owner_writes_produce_history_without_an_actor(db: None, world: World) -> None:
    pk = world.acme.ref["distributor_2"]
    last = scalar("SELECT max(id) FROM history")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE organization SET city = 'Duluth' WHERE id = %s", [pk])
    entries = rows(
        "SELECT table_name, row_id, operation, actor_id, changes FROM history WHERE id > %s", [last]
    )
    assert entries == [("organization", pk, "update", None, {"city": ["", "Duluth"]})]


# ---------------------------------------------------------------------------------------------------
# History never changes.


@pytest.mark.parametrize(
    "statement",
    [
        """UPDATE history SET changes = '{"stage": ["x", "y"]}' WHERE id = %s RETURNING id""",
        "UPDATE history SET actor_id = NULL WHERE id = %s RETURNING id",
        "DELETE FROM history WHERE id = %s RETURNING id",
    ],
    ids=["update-changes", "update-actor", "delete"],
)
def test_history_is_append_only_even_for_the_owner(db: None, world: World, statement: str) -> None:
    pk = min(world.acme.ids("history"))
    before = rows("SELECT * FROM history WHERE id = %s", [pk])
    assert scalar("SELECT current_user") != rls.runtime_role()
    outcome = attempt(statement, [pk])  # as the owner: no RLS, no missing privilege, only the trigger
    assert outcome.sqlstate == RAISE_EXCEPTION, outcome.error
    assert rows("SELECT * FROM history WHERE id = %s", [pk]) == before


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("command", ["UPDATE history SET row_id = row_id", "DELETE FROM history"])
def test_no_role_updates_or_deletes_history_even_when_purging(
    db: None, world: World, persona: str, command: str
) -> None:
    visible = sorted(world.acme.ids("history", {"opportunity:a"}))
    with acting(world.acme, persona):
        outcome = attempt(f"{command} WHERE id = ANY(%s) RETURNING id", [visible], purge=True)
    assert outcome.sqlstate == INSUFFICIENT_PRIVILEGE, outcome.error
    assert scalar("SELECT count(*) FROM history WHERE id = ANY(%s)", [visible]) == len(visible)


# ---------------------------------------------------------------------------------------------------
# Who reads history.

# Rows of each kind the admin changes: (table, label).
CHANGED = [
    ("organization", "a"),
    ("organization", "b"),
    ("organization", "shared"),
    ("customer_distributor", "shared"),
    ("contact", "a"),
    ("contact", "b"),
    ("contact", "shared"),
    ("product", "a"),
    ("product", "b"),
    ("opportunity", "a"),
    ("opportunity", "b"),
    ("opportunity_contact", "b"),
    ("interaction", "a"),
    ("interaction", "b"),
    ("interaction", "shared"),
    ("task", "a"),
    ("task", "shared"),
]


def admin_soft_deletes_and_restores(world: World, request_id: str) -> dict[tuple[str, int], tuple[str, str]]:
    """The acme admin soft-deletes and restores one row of each CHANGED kind: two entries a row."""
    described = {}
    with acting(world.acme, "admin", request_id=request_id):
        for table, label in CHANGED:
            pk = first(world, table, label)
            for value in ("now()", "NULL"):
                changed = attempt(
                    f"UPDATE {table} SET deleted_at = {value} WHERE id = %s RETURNING id", [pk], keep=True
                )
                assert changed.ids == {pk}, changed.error
            described[(table, pk)] = (table, label)
    return described


def history_of_request(request_id: str) -> list[tuple[Any, ...]]:
    """(table_name, row_id, operation, actor_id) of the entries the request wrote that the reader sees."""
    return rows(
        "SELECT table_name, row_id, operation, actor_id FROM history WHERE request_id = %s", [request_id]
    )


@pytest.mark.parametrize("persona", PERSONAS)
def test_history_reads_exactly_the_entries_of_rows_the_role_reads(
    db: None, world: World, persona: str
) -> None:
    described = admin_soft_deletes_and_restores(world, "req-admin")
    with acting(world.acme, persona):
        seen = history_of_request("req-admin")
        unfiltered = scalar("SELECT count(*) FROM history WHERE request_id = 'req-admin'")
    want = {described_row for described_row in CHANGED if sees(persona, *described_row)}
    assert {described[(table, pk)] for table, pk, _, _ in seen} == want
    assert len(seen) == unfiltered == 2 * len(want), "a delete and a restore for each row, counts alike"
    assert {(operation, actor) for _, _, operation, actor in seen} == {
        ("delete", world.acme.user("admin").pk),
        ("restore", world.acme.user("admin").pk),
    }


def test_viewer_reads_history_of_shared_organizations_but_not_of_shared_contacts_or_interactions(
    db: None, world: World
) -> None:
    described = admin_soft_deletes_and_restores(world, "req-admin")
    with acting(world.acme, "viewer"):
        seen = {described[(table, pk)] for table, pk, _, _ in history_of_request("req-admin")}
    assert {("organization", "shared"), ("customer_distributor", "shared")} <= seen
    assert {("contact", "a"), ("interaction", "a")} <= seen
    assert not {("contact", "shared"), ("interaction", "shared")} & seen


@pytest.mark.parametrize("persona", PERSONAS)
def test_another_firm_reads_none_of_the_history(db: None, world: World, persona: str) -> None:
    admin_soft_deletes_and_restores(world, "req-admin")
    acme_ids = sorted(world.acme.ids("history"))
    with acting(world.rival, persona):
        assert history_of_request("req-admin") == []
        assert fetch_ids("SELECT id FROM history WHERE id = ANY(%s)", [acme_ids]) == set()
        assert fetch_ids("SELECT DISTINCT tenant_id FROM history") <= {world.rival.tenant_id}


def test_a_manager_never_reads_history_outside_the_book(db: None, world: World) -> None:
    """Whatever the filter: every entry the manager reads describes a row in the book or a shared one."""
    admin_soft_deletes_and_restores(world, "req-admin")
    principal_b = world.acme.ref["principal_b"]
    with acting(world.acme, "manager") as context:
        scopes = {
            (tenant, scope)
            for tenant, scope in rows("SELECT DISTINCT tenant_id, scope_principal_id FROM history")
        }
        by_row = fetch_ids(
            "SELECT id FROM history WHERE table_name = 'opportunity' AND row_id = %s",
            [world.acme.ref["opportunity_b"]],
        )
    assert scopes == {(world.acme.tenant_id, world.acme.ref["principal_a"]), (world.acme.tenant_id, None)}
    assert principal_b not in context.book and by_row == set()


# ---------------------------------------------------------------------------------------------------
# version and deleted_by are the database's.

# A row of each business table the manager (book: principal A) may write.
MANAGER_ROW = {table: "shared" if table == "customer_distributor" else "a" for table in BUSINESS_TABLES}


@pytest.mark.parametrize("table", BUSINESS_TABLES)
def test_version_cannot_be_forged_by_raw_sql(db: None, world: World, table: str) -> None:
    pk = first(world, table, MANAGER_ROW[table])
    version = owner_value(table, pk, "version")
    with acting(world.acme, "manager"):
        for forged in (99, 0, version):
            outcome = attempt(
                f"UPDATE {table} SET version = %s WHERE id = %s RETURNING version", [forged, pk]
            )
            assert outcome.ids == {version + 1}, outcome.error
        kept = attempt(f"UPDATE {table} SET version = 99 WHERE id = %s RETURNING id", [pk], keep=True)
    assert kept.ids == {pk}
    assert owner_value(table, pk, "version") == version + 1


@pytest.mark.parametrize("table", BUSINESS_TABLES)
def test_soft_delete_by_raw_sql_records_the_acting_user_whatever_deleted_by_says(
    db: None, world: World, table: str
) -> None:
    pk = first(world, table, MANAGER_ROW[table])
    manager, someone_else = world.acme.user("manager").pk, world.acme.user("admin").pk
    with acting(world.acme, "manager"):
        deleted = attempt(
            f"UPDATE {table} SET deleted_at = now(), deleted_by_id = %s WHERE id = %s RETURNING deleted_by_id",
            [someone_else, pk],
            keep=True,
        )
    assert deleted.ids == {manager}, deleted.error
    assert owner_value(table, pk, "deleted_by_id") == manager
    with acting(world.acme, "manager"):
        restored = attempt(
            f"UPDATE {table} SET deleted_at = NULL, deleted_by_id = %s WHERE id = %s RETURNING deleted_by_id",
            [someone_else, pk],
            keep=True,
        )
    assert restored.ids == {None}, "a live row has no deleter"


# ---------------------------------------------------------------------------------------------------
# Holes found while writing this suite, now closed.


def test_deleted_by_of_an_already_deleted_row_cannot_be_rewritten(db: None, world: World) -> None:
    pk = world.acme.ref["customer"]
    manager = world.acme.user("manager").pk
    with acting(world.acme, "manager"):
        attempt("UPDATE organization SET deleted_at = now() WHERE id = %s RETURNING id", [pk], keep=True)
        attempt(
            "UPDATE organization SET deleted_by_id = %s WHERE id = %s RETURNING id",
            [world.rival.user("admin").pk, pk],  # even another firm's user
            keep=True,
        )
    assert owner_value("organization", pk, "deleted_by_id") == manager


def test_a_row_inserted_deleted_records_the_acting_user_as_deleter(db: None, world: World) -> None:
    manager = world.acme.user("manager").pk
    with acting(world.acme, "manager"):
        inserted = attempt(
            "INSERT INTO organization (name, type, priority, segment, status, phone, email, website, street,"
            " city, state, postal_code, country, notes, deleted_at, deleted_by_id) VALUES ('Ghost Diner',"
            " 'customer', 'C', '', 'active', '', '', '', '', '', '', '', 'US', '', now(), %s)"
            " RETURNING deleted_by_id",
            [world.rival.user("admin").pk],
        )
    assert inserted.ids == {manager}, inserted.error


def test_runtime_role_cannot_forge_history_by_calling_the_writer(db: None, world: World) -> None:
    rival = world.rival.tenant_id
    forged = {"id": world.rival.ref["opportunity_a"], "tenant_id": rival, "stage": "closed_lost"}
    with acting(world.acme, "viewer"):
        outcome = attempt(
            "SELECT crm_history_write('UPDATE', 'opportunity', %s::jsonb, %s::jsonb, NULL, true)",
            [json.dumps({**forged, "stage": "new_lead"}), json.dumps(forged)],
            keep=True,
        )
    written = scalar(
        "SELECT count(*) FROM history WHERE tenant_id = %s AND changes ? 'stage' AND actor_id = %s",
        [rival, world.acme.user("viewer").pk],
    )
    assert written == 0, "a viewer of one firm wrote history into another"
    assert outcome.refused


def trigger_name(table: str, name: str) -> str:
    return str(
        scalar(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname LIKE %s",
            [table, f"%{name}%"],
        )
    )


def test_runtime_role_cannot_switch_the_database_rules_off(db: None, world: World) -> None:
    pk = world.acme.ref["customer"]
    version = owner_value("organization", pk, "version")
    ignored = (
        "{" + ",".join(trigger_name("organization", n) for n in ("audit_columns", "record_history")) + "}"
    )
    with acting(world.acme, "manager", request_id="req-ignore"):
        scalar("SELECT set_config('pgtrigger.ignore', %s, true)", [ignored])
        forged = attempt(
            "UPDATE organization SET version = 99, notes = 'unrecorded' WHERE id = %s RETURNING version",
            [pk],
            keep=True,
        )
    assert forged.ids == {version + 1}, "version forged"
    assert scalar("SELECT count(*) FROM history WHERE request_id = 'req-ignore'") == 1, "change unrecorded"


def test_purge_keeps_rows_still_referenced_and_purges_the_rest(db: None, world: World) -> None:
    old = timezone.now() - dt.timedelta(days=400)
    referenced, lonely = world.acme.ref["customer"], world.acme.ref["distributor_2"]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE organization SET deleted_at = %s WHERE id = ANY(%s)", [old, [referenced, lonely]]
        )
    # In a savepoint rolled back at the end: a wrongly purged row must not reach the test's own checks.
    with transaction.atomic():
        call_command("purge", tenant=world.acme.tenant_id, older_than=90, stdout=StringIO())
        left = fetch_ids("SELECT id FROM organization WHERE id = ANY(%s)", [[referenced, lonely]])
        purged = scalar(
            "SELECT operation FROM history WHERE table_name = 'organization' AND row_id = %s"
            " ORDER BY id DESC LIMIT 1",
            [lonely],
        )
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # what the command's commit checks
            dangling = None
        except IntegrityError as error:
            dangling = error
        transaction.set_rollback(True)
    assert purged == "purge"
    assert dangling is None, f"the purge would fail at commit: {dangling}"
    assert left == {referenced}
