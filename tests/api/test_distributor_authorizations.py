"""/distributor-authorizations/: which distributors carry which principal's line."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.api.support import API, assert_problem, ok, result_ids

URL = f"{API}/distributor-authorizations/"


def test_create_retrieve_update_and_soft_delete(firm, manager):
    created = ok(
        manager.post(
            URL,
            {
                "distributor": firm.distributor.pk,
                "principal": firm.principal_a.pk,
                "authorized_on": "2026-01-01",
                "notes": "Full line",
            },
        ),
        201,
    )
    assert created["expires_on"] is None and created["created_by"] == firm.manager.pk
    url = f"{URL}{created['id']}/"
    assert ok(manager.get(url))["principal"] == firm.principal_a.pk
    assert ok(manager.patch(url, {"expires_on": "2026-12-31"}))["expires_on"] == "2026-12-31"
    assert manager.delete(url).status_code == 204
    assert_problem(manager.get(url), 404)
    assert created["id"] not in result_ids(manager, URL)
    # Deleted, so the pair may be authorized again.
    ok(manager.post(URL, {"distributor": firm.distributor.pk, "principal": firm.principal_a.pk}), 201)


@pytest.fixture
def authorizations(firm):
    import datetime as dt

    other = f.DistributorFactory(tenant=firm.tenant, name="Gulf Coast Foods")
    return {
        "current": f.DistributorAuthorizationFactory(
            tenant=firm.tenant, distributor=firm.distributor, principal=firm.principal_a,
            authorized_on=dt.date(2026, 1, 1), expires_on=None,
        ),
        "expired": f.DistributorAuthorizationFactory(
            tenant=firm.tenant, distributor=other, principal=firm.principal_a,
            authorized_on=dt.date(2024, 1, 1), expires_on=dt.date(2025, 6, 30),
        ),
        "other": other,
    }  # fmt: skip


def test_filter_by_distributor_principal_and_active_on(firm, manager, authorizations):
    current, expired = authorizations["current"].pk, authorizations["expired"].pk
    assert result_ids(manager, f"{URL}?distributor={authorizations['other'].pk}") == [expired]
    assert set(result_ids(manager, f"{URL}?principal={firm.principal_a.pk}")) == {current, expired}
    assert result_ids(manager, f"{URL}?active_on=2026-11-01") == [current]
    assert result_ids(manager, f"{URL}?active_on=2025-03-01") == [expired]


def test_expand_embeds_distributor_and_principal(firm, manager, authorizations):
    row = ok(manager.get(f"{URL}{authorizations['current'].pk}/?expand=distributor,principal"))
    assert row["distributor"] == {
        "id": firm.distributor.pk,
        "name": firm.distributor.name,
        "type": "distributor",
    }
    assert row["principal"]["id"] == firm.principal_a.pk


def test_expiry_before_authorization_is_400_naming_expires_on(firm, manager):
    body = {
        "distributor": firm.distributor.pk,
        "principal": firm.principal_a.pk,
        "authorized_on": "2026-06-01",
        "expires_on": "2026-05-31",
    }
    assert_problem(manager.post(URL, body), 400, field="expires_on")


def test_duplicate_authorization_is_400(firm, manager, authorizations):
    body = {"distributor": firm.distributor.pk, "principal": firm.principal_a.pk}
    assert_problem(manager.post(URL, body), 400, code="unique")


@pytest.mark.parametrize(("field", "wrong"), [("distributor", "customer"), ("principal", "distributor")])
def test_organization_of_the_wrong_type_is_400_naming_the_field(firm, manager, field, wrong):
    body = {
        "distributor": firm.distributor.pk,
        "principal": firm.principal_a.pk,
        field: getattr(firm, wrong).pk,
    }
    assert_problem(manager.post(URL, body), 400, field=field)
