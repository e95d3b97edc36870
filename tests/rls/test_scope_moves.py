"""A row cannot be moved out of the writer's reach: not to another tenant, not to a principal outside
the book. Scope keys are kept by the database, so writing them directly moves nothing either."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.rls.rules import TENANT_TABLES
from tests.rls.support import (
    REFUSED,
    World,
    acting,
    attempt,
    fetch_ids,
    has_tenant_column,
    owner_value,
)


@dataclass(frozen=True)
class Move:
    """`persona` updates the row `row` (a FirmWorld.ref name, or a table label) setting `column` to the
    id of `target` (a ref name in the firm given by `target_firm`)."""

    table: str
    row: str
    column: str
    target: str
    persona: str = "manager"
    target_firm: str = "acme"

    @property
    def id(self) -> str:
        return f"{self.table}.{self.column}-{self.row}-to-{self.target_firm}-{self.target}-by-{self.persona}"


# The manager's book is principal A: each move targets principal B's rows (hidden from them).
OUT_OF_BOOK = [
    Move("distributor_authorization", "distributor_authorization_a", "principal_id", "principal_b"),
    Move("contact", "contact_a", "organization_id", "principal_b"),
    Move("contact", "contact_shared", "organization_id", "principal_b"),
    Move("product", "product_a", "principal_id", "principal_b"),
    Move("product_distributor", "product_distributor_a", "product_id", "product_b"),
    Move("opportunity", "opportunity_a", "principal_id", "principal_b"),
    Move("opportunity_product", "opportunity_product_a", "opportunity_id", "opportunity_b"),
    Move("opportunity_contact", "opportunity_contact_a", "opportunity_id", "opportunity_b"),
    Move("interaction", "interaction_a", "opportunity_id", "opportunity_b"),
    Move("sample", "sample_a", "interaction_id", "sample_interaction_b_unsampled"),
    Move("sample_line", "sample_line_a", "interaction_id", "sample_interaction_b"),
    Move("sample_line", "sample_line_a", "product_id", "product_b"),
    Move("interaction", "interaction_shared", "principal_id", "principal_b"),
    Move("interaction", "interaction_shared", "organization_id", "principal_b"),
    Move("task", "task_a", "opportunity_id", "opportunity_b"),
    Move("task", "task_shared", "principal_id", "principal_b"),
    Move("task", "task_shared", "organization_id", "principal_b"),
    Move("organization", "customer", "parent_id", "principal_b"),
]
# The admin sees every principal of the firm, but none of another firm's.
OUT_OF_FIRM = [
    Move(m.table, m.row, m.column, m.target.replace("_b", "_a"), "admin", "rival")
    for m in OUT_OF_BOOK
    if m.row.endswith("_a")
] + [Move("principal_assignment", "manager", "principal_id", "principal_a", "admin", "rival")]


def row_id(world: World, table: str, name: str) -> int:
    if name in world.acme.ref:
        return world.acme.ref[name]
    (pk,) = world.acme.rows[table][name]
    return pk


@pytest.mark.parametrize("move", OUT_OF_BOOK + OUT_OF_FIRM, ids=[m.id for m in OUT_OF_BOOK + OUT_OF_FIRM])
def test_moving_a_row_out_of_scope_is_refused(db: None, world: World, move: Move) -> None:
    pk = row_id(world, move.table, move.row)
    target = getattr(world, move.target_firm).ref[move.target]
    before = owner_value(move.table, pk, move.column)
    with acting(world.acme, move.persona):
        assert fetch_ids(f"SELECT id FROM {move.table} WHERE id = %s", [pk]) == {pk}, "the row is writable"
        outcome = attempt(
            f"UPDATE {move.table} SET {move.column} = %s WHERE id = %s RETURNING id", [target, pk]
        )
    assert outcome.refused, f"{move.persona} moved {move.table} {pk} to {move.target}"
    assert outcome.sqlstate in REFUSED, f"refused for the wrong reason: {outcome.error}"
    assert owner_value(move.table, pk, move.column) == before


def move_label(table: str, label: str) -> str:
    if table == "customer_distributor":
        return "shared"
    if table == "history":
        return f"opportunity:{label}"  # visible, though never writable: the update must fail all the same
    if table in ("webhook_endpoint", "webhook_delivery"):
        return "hook"
    if table == "stage_probability":
        return "figures"
    if table in ("sales_customer_alias", "sales_column_mapping"):
        return "shared"
    return label


# One row per table the persona can see and, but for history, update: (persona, label).
TENANT_MOVES = [
    (table, persona, move_label(table, label))
    for table in TENANT_TABLES
    # api_key: revoked_at is all one may write; import_run: not scoped by principal, nothing to move
    if table not in ("tenant", "django_admin_log", "api_key", "import_run")
    for persona, label in (("admin", "b"), ("manager", "a"))
    if not (
        table
        in ("membership", "principal_assignment", "webhook_endpoint", "webhook_delivery", "stage_probability")
        and persona == "manager"
    )
]


def tenant_move_row(world: World, table: str, label: str) -> int:
    if table in ("membership", "principal_assignment"):
        return sorted(world.acme.ids(table, {"manager"}))[0]
    return sorted(world.acme.ids(table, {label}))[0]


@pytest.mark.parametrize(
    ("table", "persona", "label"), TENANT_MOVES, ids=[f"{t}-{p}" for t, p, _ in TENANT_MOVES]
)
def test_moving_a_row_to_another_tenant_is_refused(
    db: None, world: World, table: str, persona: str, label: str
) -> None:
    assert has_tenant_column(table)
    pk = tenant_move_row(world, table, label)
    with acting(world.acme, persona):
        assert fetch_ids(f"SELECT id FROM {table} WHERE id = %s", [pk]) == {pk}
        outcome = attempt(
            f"UPDATE {table} SET tenant_id = %s WHERE id = %s RETURNING id", [world.rival.tenant_id, pk]
        )
    assert outcome.refused and outcome.sqlstate in REFUSED, outcome.error
    assert owner_value(table, pk, "tenant_id") == world.acme.tenant_id


def test_admin_cannot_renumber_their_firm_into_another(db: None, world: World) -> None:
    with acting(world.acme, "admin"):
        outcome = attempt(
            "UPDATE tenant SET id = %s WHERE id = %s RETURNING id", [10**9, world.acme.tenant_id]
        )
    assert outcome.refused and outcome.sqlstate in REFUSED


def test_admin_log_entries_cannot_be_reassigned(db: None, world: World) -> None:
    (pk,) = world.acme.rows["django_admin_log"]["admin"]
    with acting(world.acme, "admin"):
        outcome = attempt(
            "UPDATE django_admin_log SET user_id = %s WHERE id = %s RETURNING id",
            [world.acme.firm.viewer.pk, pk],
        )
    assert outcome.ids == set()
    assert owner_value("django_admin_log", pk, "user_id") == world.acme.firm.admin.pk


def test_shared_organization_cannot_become_a_principal(db: None, world: World) -> None:
    """A principal's scope key is its own id: turning a shared account into one would move it out of
    every manager's book, so the type is fixed on either side of 'principal'."""
    pk = world.acme.ref["customer"]
    with acting(world.acme, "manager"):
        outcome = attempt("UPDATE organization SET type = 'principal' WHERE id = %s RETURNING id", [pk])
    assert outcome.refused and outcome.sqlstate in REFUSED
    assert owner_value("organization", pk, "type") == "customer"


SCOPE_KEYS = [
    ("organization", "principal_a", "scope_principal_id"),
    ("contact", "contact_a", "scope_principal_id"),
    ("product_distributor", "product_distributor_a", "scope_principal_id"),
    ("opportunity_product", "opportunity_product_a", "scope_principal_id"),
    ("opportunity_contact", "opportunity_contact_a", "scope_principal_id"),
    ("interaction", "interaction_a", "principal_id"),  # kept from its opportunity
    ("sample", "sample_a", "scope_principal_id"),
    ("sample_line", "sample_line_a", "scope_principal_id"),
    ("task", "task_a", "principal_id"),  # kept from its opportunity
]


@pytest.mark.parametrize(("table", "row", "column"), SCOPE_KEYS, ids=[f"{t}.{c}" for t, _, c in SCOPE_KEYS])
@pytest.mark.parametrize("new_key", ["principal_b", None], ids=["to-principal-b", "to-shared"])
def test_writing_a_scope_key_directly_does_not_move_the_row(
    db: None, world: World, table: str, row: str, column: str, new_key: str | None
) -> None:
    pk = world.acme.ref[row]
    principal_a = world.acme.ref["principal_a"]
    value = world.acme.ref[new_key] if new_key else None
    with acting(world.acme, "manager"):
        # Either the database rewrites the key from the row's references, or the write is refused.
        attempt(f"UPDATE {table} SET {column} = %s WHERE id = %s RETURNING id", [value, pk], keep=True)
    assert owner_value(table, pk, column) == principal_a
    with acting(world.acme, "other_manager"):
        assert fetch_ids(f"SELECT id FROM {table} WHERE id = %s", [pk]) == set()
