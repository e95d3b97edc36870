"""Inserts within a firm: admins and managers write where they can see, viewers write nothing, and a
refused reference looks exactly like a missing one (no existence leak through errors)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from organizations.models import Organization
from tests.rls.support import (
    FOREIGN_KEY_VIOLATION,
    INSERT_SCOPES,
    PERSONAS,
    REFUSED,
    FirmWorld,
    World,
    acting,
    attempt_save,
    fetch_ids,
    has_tenant_column,
    new_row,
    owner_value,
    primary_message,
)

WRITERS_OF_SCOPE = {
    "a": {"admin", "manager"},
    "b": {"admin", "other_manager"},
    "shared": {"admin", "manager", "other_manager"},
    "principal": {"admin"},  # a new principal is in nobody's book yet
    "assignment": {"admin"},
    "member": {"admin"},
    "firm": set(),  # firms are created by the owner (create_tenant)
    "own": set(PERSONAS)
    - {"viewer"},  # the admin log: writers append their own entries; viewers write nothing
    "someone_else": set(),
    "entry": set(),  # history is appended by the record_history triggers, never by a statement
    "key": set(),  # API keys are made with their user by crm_create_api_key(), never by an INSERT
    "hook": {"admin"},  # webhook endpoints: the firm's admins
    "delivery": set(),  # webhook deliveries: the worker's dispatcher alone
    "figure": set(),  # stage probabilities: created with the firm, by the owner
}
CASES = [
    (table, scope, persona)
    for table, scopes in INSERT_SCOPES.items()
    for scope in scopes
    for persona in PERSONAS
]


@pytest.mark.parametrize(("table", "scope", "persona"), CASES, ids=[f"{t}-{s}-{p}" for t, s, p in CASES])
def test_insert_succeeds_exactly_where_the_role_may_write(
    db: None, world: World, table: str, scope: str, persona: str
) -> None:
    actor = world.acme.user(persona)
    row = new_row(table, world.acme, scope, actor, world)
    with acting(world.acme, persona):
        outcome = attempt_save(row)
        visible_after = fetch_ids(f"SELECT id FROM {table} WHERE id = %s", [row.pk]) if row.pk else set()
    if persona not in WRITERS_OF_SCOPE[scope]:
        assert outcome.refused, f"{persona} inserted a {scope} {table} row"
        assert outcome.sqlstate in REFUSED, f"refused for the wrong reason: {outcome.error}"
        return
    assert outcome.error is None, f"{persona} could not insert a {scope} {table} row: {outcome.error}"
    assert visible_after == {row.pk}, "a writer sees what they wrote"
    if has_tenant_column(table):
        assert owner_value(table, row.pk, "tenant_id") == world.acme.tenant_id, (
            "tenant comes from the request"
        )


@pytest.mark.parametrize("table", ["organization", "contact", "interaction", "task", "customer_distributor"])
def test_viewer_cannot_insert_even_shared_rows(db: None, world: World, table: str) -> None:
    row = new_row(table, world.acme, "shared", world.acme.firm.viewer, world)
    with acting(world.acme, "viewer"):
        outcome = attempt_save(row)
    assert outcome.sqlstate == "42501", "the row is visible-scoped, so only the write policy can refuse it"


@dataclass(frozen=True)
class HiddenReference:
    """An insert by `manager` (book: principal A) pointing `column` at a row of principal B."""

    table: str
    scope: str
    column: str
    hidden: str  # a name in FirmWorld.ref

    @property
    def id(self) -> str:
        return f"{self.table}.{self.column}"


HIDDEN_REFERENCES = [
    HiddenReference("organization", "shared", "parent_id", "principal_b"),
    HiddenReference("distributor_authorization", "a", "principal_id", "principal_b"),
    HiddenReference("contact", "a", "organization_id", "principal_b"),
    HiddenReference("product", "a", "principal_id", "principal_b"),
    HiddenReference("product_distributor", "a", "product_id", "product_b"),
    HiddenReference("opportunity", "a", "principal_id", "principal_b"),
    HiddenReference("opportunity_product", "a", "opportunity_id", "opportunity_b"),
    HiddenReference("opportunity_product", "a", "product_id", "product_b"),
    HiddenReference("opportunity_contact", "a", "opportunity_id", "opportunity_b"),
    HiddenReference("opportunity_contact", "a", "contact_id", "contact_b"),
    HiddenReference("sample", "a", "interaction_id", "sample_interaction_b_unsampled"),
    HiddenReference("sample_line", "a", "interaction_id", "sample_interaction_b"),
    HiddenReference("sample_line", "a", "product_id", "product_b"),
    HiddenReference("interaction", "shared", "organization_id", "principal_b"),
    HiddenReference("interaction", "shared", "opportunity_id", "opportunity_b"),
    HiddenReference("interaction", "shared", "principal_id", "principal_b"),
    HiddenReference("task", "shared", "organization_id", "principal_b"),
    HiddenReference("task", "shared", "opportunity_id", "opportunity_b"),
    HiddenReference("task", "shared", "principal_id", "principal_b"),
    HiddenReference("task", "shared", "contact_id", "contact_b"),
]
MISSING_ID = 987_654_321


def refusal(fw: FirmWorld, world: World, case: HiddenReference, target: int) -> tuple[str | None, str]:
    row = new_row(case.table, fw, case.scope, fw.firm.manager, world)
    setattr(row, case.column, target)
    with acting(fw, "manager"):
        outcome = attempt_save(row)
    assert outcome.error is not None, f"the manager inserted a {case.table} pointing at a hidden row"
    return outcome.sqlstate, primary_message(outcome.error).replace(str(target), "<id>")


@pytest.mark.parametrize("case", HIDDEN_REFERENCES, ids=[c.id for c in HIDDEN_REFERENCES])
def test_reference_to_a_hidden_row_fails_exactly_like_a_missing_row(
    db: None, world: World, case: HiddenReference
) -> None:
    hidden = refusal(world.acme, world, case, world.acme.ref[case.hidden])
    missing = refusal(world.acme, world, case, MISSING_ID)
    assert hidden == missing
    assert hidden[0] == FOREIGN_KEY_VIOLATION


@pytest.mark.parametrize("case", HIDDEN_REFERENCES, ids=[c.id for c in HIDDEN_REFERENCES])
def test_reference_to_another_tenants_row_fails_exactly_like_a_missing_row(
    db: None, world: World, case: HiddenReference
) -> None:
    # Here the target is principal A's twin in the other firm: in-book by label, out of reach by tenant.
    twin = world.rival.ref[case.hidden.replace("_b", "_a")]
    foreign = refusal(world.acme, world, case, twin)
    missing = refusal(world.acme, world, case, MISSING_ID)
    assert foreign == missing


def test_shared_organization_may_take_the_name_of_a_hidden_principal(db: None, world: World) -> None:
    """Principal and shared names are unique separately, so a manager's clash is only ever with a row
    they can see: creating a customer named like principal B is not refused (and so leaks nothing)."""
    hidden_name = Organization.objects.get(pk=world.acme.ref["principal_b"]).name
    row = Organization(name=hidden_name, type="customer")
    with acting(world.acme, "manager"):
        outcome = attempt_save(row)
    assert outcome.error is None
