"""The search functions (crm.rls.search_function_sql) filter exactly as their table's SELECT policy does."""

from __future__ import annotations

import pytest
from django.db import connection

from crm import rls
from crm.api.filters import prefix_search_terms
from tests import factories as f
from tests.conftest import Firm

# Interactions: capped (crm.api.filters.search), the same policy.
SEARCHABLE = ("organization", "contact", "product", "opportunity", "interaction")

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("table", SEARCHABLE)
def test_each_search_function_carries_its_tables_current_select_policy_verbatim(table: str) -> None:
    with connection.cursor() as cursor:
        qual = rls.select_policy_qual(cursor, table)
        cursor.execute(
            "SELECT p.prosrc, p.prosecdef, p.proconfig,"
            " has_function_privilege(%s, p.oid, 'EXECUTE'),"
            " EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0)"
            " FROM pg_proc p WHERE p.proname = %s",
            [rls.runtime_role(), rls.search_function(table)],
        )
        source, definer, config, runtime_may_run, public_may_run = cursor.fetchone()
    assert f"AND ({qual})" in source, "the policy changed: re-create the search function in a migration"
    assert "deleted_at IS NULL" in source
    assert definer and config == ["search_path=pg_catalog, public, pg_temp"]
    assert runtime_may_run and not public_may_run


def _contacts_named(firm: Firm, name: str) -> dict[str, int]:
    """A contact at each kind of organization, all with the same last name."""
    at = {"book": firm.principal_a, "outside": firm.principal_b, "shared": firm.customer}
    return {
        kind: f.ContactFactory(tenant=firm.tenant, organization=org, last_name=name).pk
        for kind, org in at.items()
    }


def _found_by_function(user_id: int | None, text: str) -> set[int]:
    with rls.acting_as(user_id), connection.cursor() as cursor:
        cursor.execute("SELECT found FROM crm_search_contact(%s) found", [prefix_search_terms(text)])
        return {row[0] for row in cursor.fetchall()}


def _visible_by_policy(user_id: int | None, text: str) -> set[int]:
    with rls.acting_as(user_id), connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM contact WHERE deleted_at IS NULL AND search_vector @@ to_tsquery('simple', %s)",
            [prefix_search_terms(text)],
        )
        return {row[0] for row in cursor.fetchall()}


def test_the_function_finds_what_each_role_may_see_and_nothing_more(firm: Firm, other_firm: Firm) -> None:
    ids = _contacts_named(firm, "Zanzibar")
    rival = _contacts_named(other_firm, "Zanzibar")
    deleted = f.ContactFactory(tenant=firm.tenant, organization=firm.customer, last_name="Zanzibar")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE contact SET deleted_at = now() WHERE id = %s", [deleted.pk])

    expected = {
        firm.admin.pk: {ids["book"], ids["outside"], ids["shared"]},
        firm.manager.pk: {ids["book"], ids["shared"]},
        firm.other_manager.pk: {ids["outside"], ids["shared"]},
        firm.viewer.pk: {ids["book"]},  # viewers do not read shared contacts
        other_firm.admin.pk: set(rival.values()),
    }
    for user_id, visible in expected.items():
        assert _found_by_function(user_id, "zanz") == visible == _visible_by_policy(user_id, "zanz")
    assert _found_by_function(None, "zanz") == set()  # nobody: fail closed


def test_the_api_search_lists_only_visible_matches(firm: Firm, api) -> None:  # type: ignore[no-untyped-def]
    ids = _contacts_named(firm, "Quixotic")
    response = api(firm.manager).get("/api/v1/contacts/?search=quixo")
    assert response.status_code == 200
    assert {row["id"] for row in response.json()["results"]} == {ids["book"], ids["shared"]}
