"""No role of one firm reaches another firm's rows, even by naming them: reads, updates, deletes, inserts."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry

from tests.rls.rules import TENANT_TABLES
from tests.rls.support import (
    INSERT_SCOPES,
    INSUFFICIENT_PRIVILEGE,
    PERSONAS,
    REFUSED,
    FirmWorld,
    World,
    acting,
    attempt,
    attempt_save,
    fetch_ids,
    has_tenant_column,
    new_row,
    owner_value,
    runtime_may,
)

CASES = [(table, persona) for table in TENANT_TABLES for persona in PERSONAS]
CASE_IDS = [f"{table}-{persona}" for table, persona in CASES]
# The scope each persona could insert into in its own firm, so a refusal is down to the tenant alone.
WRITABLE_SCOPE = {"admin": "a", "manager": "a", "other_manager": "b", "viewer": "a"}


def rival_ids(world: World, table: str) -> list[int]:
    ids = sorted(world.rival.ids(table))
    assert ids, f"the rival firm has no {table} rows to aim at"
    return ids


def insert_scope(table: str, persona: str) -> str:
    scopes = INSERT_SCOPES[table]
    return WRITABLE_SCOPE[persona] if WRITABLE_SCOPE[persona] in scopes else scopes[0]


@pytest.mark.parametrize(("table", "persona"), CASES, ids=CASE_IDS)
def test_another_tenants_rows_cannot_be_read_by_id(db: None, world: World, table: str, persona: str) -> None:
    with acting(world.acme, persona):
        found = fetch_ids(f"SELECT id FROM {table} WHERE id = ANY(%s)", [rival_ids(world, table)])
    assert found == set()


@pytest.mark.parametrize(("table", "persona"), CASES, ids=CASE_IDS)
def test_another_tenants_rows_cannot_be_updated_by_id(
    db: None, world: World, table: str, persona: str
) -> None:
    with acting(world.acme, persona):
        outcome = attempt(
            f"UPDATE {table} SET id = id WHERE id = ANY(%s) RETURNING id",
            [rival_ids(world, table)],
            keep=True,
        )
        granted = runtime_may(table, "UPDATE")
    assert outcome.ids == set()
    assert outcome.sqlstate == (None if granted else INSUFFICIENT_PRIVILEGE)


@pytest.mark.parametrize(("table", "persona"), CASES, ids=CASE_IDS)
def test_another_tenants_rows_cannot_be_deleted_by_id(
    db: None, world: World, table: str, persona: str
) -> None:
    targets = rival_ids(world, table)
    with acting(world.acme, persona):
        outcome = attempt(f"DELETE FROM {table} WHERE id = ANY(%s) RETURNING id", [targets], keep=True)
        granted = runtime_may(table, "DELETE")
    assert outcome.ids == set()
    assert outcome.sqlstate == (None if granted else INSUFFICIENT_PRIVILEGE)
    assert all(owner_value(table, pk, "id") == pk for pk in targets), "the rows are still there"


def attempt_cross_tenant_insert(world: World, table: str, persona: str, references: FirmWorld) -> None:
    actor = world.acme.user(persona)
    scope = insert_scope(table, persona)
    row = new_row(table, references, "someone_else" if table == "django_admin_log" else scope, actor, world)
    if has_tenant_column(table):
        row.tenant_id = world.rival.tenant_id  # type: ignore[attr-defined]
    elif isinstance(row, LogEntry):
        row.user_id = world.rival.firm.admin.pk  # an entry in the name of another firm's user
    with acting(world.acme, persona):
        outcome = attempt_save(row)
    assert outcome.refused, f"{persona} inserted a {table} row into another firm"
    assert outcome.sqlstate in REFUSED, f"refused for the wrong reason: {outcome.error}"


@pytest.mark.parametrize(("table", "persona"), CASES, ids=CASE_IDS)
def test_insert_into_another_tenant_with_its_references_is_refused(
    db: None, world: World, table: str, persona: str
) -> None:
    attempt_cross_tenant_insert(world, table, persona, references=world.rival)


@pytest.mark.parametrize(("table", "persona"), CASES, ids=CASE_IDS)
def test_insert_into_another_tenant_with_own_references_is_refused(
    db: None, world: World, table: str, persona: str
) -> None:
    attempt_cross_tenant_insert(world, table, persona, references=world.acme)


@pytest.mark.parametrize("persona", PERSONAS)
def test_another_tenants_principals_cannot_be_referenced(db: None, world: World, persona: str) -> None:
    """Even the admin, who sees every principal of their firm, cannot point at another firm's."""
    actor = world.acme.user(persona)
    row = new_row("product", world.acme, "a", actor, world)
    row.principal_id = world.rival.ref["principal_a"]  # type: ignore[attr-defined]
    with acting(world.acme, persona):
        outcome = attempt_save(row)
    assert outcome.refused and outcome.sqlstate in REFUSED
