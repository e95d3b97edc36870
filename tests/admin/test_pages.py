"""Every registered model's changelist, add and change pages, for each role of the firm."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db import models

from crm.models import Membership, PrincipalAssignment, Tenant, User
from opportunities.models import StageProbability
from sales.models import SalesFact, SalesUnmatched
from tests.admin.support import Sample, signed_in, url
from tests.conftest import Firm

MODELS = sorted(admin.site._registry, key=lambda m: m._meta.label)
ROLES = ("admin", "manager", "viewer")
# Firms come from create_tenant; members are added as users; stage probabilities come with the firm.
NO_ADD = {Tenant, Membership, StageProbability}
# Sales facts and kept rows are written by imports only (ADR 0034): read in the admin, never changed.
IMPORTED = {SalesFact}  # kept rows are changed only by confirming them (tests/admin/test_sales.py)
NO_ADD |= IMPORTED | {SalesUnmatched}
ADMIN_ONLY = {User, PrincipalAssignment, StageProbability}


def ids(model: type[models.Model]) -> str:
    return model._meta.label


def test_every_model_is_registered() -> None:
    labels = {m._meta.label for m in MODELS}
    assert labels == {
        "crm.Tenant",
        "crm.User",
        "crm.Membership",
        "crm.PrincipalAssignment",
        "organizations.Organization",
        "organizations.DistributorAuthorization",
        "organizations.CustomerDistributor",
        "contacts.Contact",
        "products.Product",
        "products.ProductDistributor",
        "opportunities.Opportunity",
        "opportunities.OpportunityProduct",
        "opportunities.OpportunityContact",
        "opportunities.StageProbability",
        "samples.Sample",
        "interactions.Interaction",
        "tasks.Task",
        "sales.SalesFact",
        "sales.SalesUnmatched",
        "sales.CustomerAlias",
        "sales.ColumnMapping",
    }


@pytest.mark.parametrize("role", ROLES)
def test_index_lists_every_model_for_a_member(firm: Firm, role: str) -> None:
    response = signed_in(getattr(firm, role)).get("/admin/")
    assert response.status_code == 200
    shown = {m["object_name"] for app in response.context["app_list"] for m in app["models"]}
    assert shown == {m._meta.object_name for m in MODELS}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("model", MODELS, ids=ids)
def test_changelist_renders_and_lists_the_sample_row(
    sample: Sample, firm: Firm, model: type[models.Model], role: str
) -> None:
    user = getattr(firm, role)
    row = sample.row(model, user)
    response = signed_in(user).get(url(model))
    assert response.status_code == 200
    assert row.pk in [obj.pk for obj in response.context["cl"].result_list]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("model", MODELS, ids=ids)
def test_change_page_renders(sample: Sample, firm: Firm, model: type[models.Model], role: str) -> None:
    user = getattr(firm, role)
    response = signed_in(user).get(url(model, "change", sample.row(model, user).pk))
    assert response.status_code == 200
    writable = model not in {Tenant} | IMPORTED and (
        role == "admin" or (role == "manager" and model not in ADMIN_ONLY | {Membership})
    )
    assert response.context["has_change_permission"] is writable


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("model", MODELS, ids=ids)
def test_add_page_is_for_writers_only(firm: Firm, model: type[models.Model], role: str) -> None:
    response = signed_in(getattr(firm, role)).get(url(model, "add"))
    may_add = model not in NO_ADD and (role == "admin" or (role == "manager" and model not in ADMIN_ONLY))
    assert response.status_code == (200 if may_add else 403)


@pytest.mark.parametrize("model", MODELS, ids=ids)
def test_viewer_cannot_post_a_change(sample: Sample, firm: Firm, model: type[models.Model]) -> None:
    path = url(model, "change", sample.row(model, firm.viewer).pk)
    assert signed_in(firm.viewer).post(path, {}).status_code == 403


@pytest.mark.parametrize("model", sorted(IMPORTED, key=ids), ids=ids)
def test_imported_sales_rows_cannot_be_changed_even_by_an_admin(
    sample: Sample, firm: Firm, model: type[models.Model]
) -> None:
    path = url(model, "change", sample.row(model, firm.admin).pk)
    assert signed_in(firm.admin).post(path, {}).status_code == 403
    for imported in (model, SalesUnmatched):  # a kept row is confirmed or replaced, never deleted by hand
        row = sample.row(imported, firm.admin)
        assert signed_in(firm.admin).get(url(imported, "delete", row.pk)).status_code == 403
