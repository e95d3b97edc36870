"""Helpers for the API suite: problem-details assertions, page walking, and a registry of list endpoints."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests import factories as f
from tests.conftest import Firm

API = "/api/v1"
PROBLEM = "application/problem+json"


def bearer(token: Any) -> APIClient:
    """A client that sends `token` as its bearer token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def refresh(token: Any) -> Any:
    """The answer to trading refresh token `token` for an access token."""
    return APIClient().post(f"{API}/auth/token/refresh/", {"refresh": str(token)})


def assert_problem(response: Any, status: int, *, field: str | None = None, code: str | None = None) -> dict:
    """The response is an RFC 9457 problem of `status`; with `field`, its `errors` name that field."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM, response["Content-Type"]
    body = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"]
    assert body["request_id"] == response["X-Request-ID"], body  # every problem names its request
    if field is not None:
        fields = [error["field"] for error in body["errors"]]
        assert field in fields, body
        if code is not None:
            assert code in [e["code"] for e in body["errors"] if e["field"] == field], body
    return body


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    return response.json()


def result_ids(client: APIClient, url: str) -> list[int]:
    """Ids on the first page of a list (use a page_size large enough for the test)."""
    return [row["id"] for row in ok(client.get(url))["results"]]


def walk(client: APIClient, url: str) -> tuple[list[int], list[dict[str, Any]]]:
    """Follow `next` links to the end: every id in order, and every page body."""
    ids: list[int] = []
    pages: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        page = ok(client.get(next_url))
        pages.append(page)
        ids.extend(row["id"] for row in page["results"])
        next_url = page["next"]
        assert len(pages) < 100, "pagination does not end"
    return ids, pages


def walk_backwards(client: APIClient, url: str) -> list[int]:
    """Go to the last page, then follow `previous` links back to the start: the ids in list order."""
    page = ok(client.get(url))
    while page["next"]:
        page = ok(client.get(page["next"]))
    ids = [r["id"] for r in page["results"]]
    while page["previous"]:
        page = ok(client.get(page["previous"]))
        ids = [r["id"] for r in page["results"]] + ids
    return ids


def count_queries(client: APIClient, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(queries)


# ---------------------------------------------------------------------------------------------------
# Every list endpoint, with a maker of rows the firm's admin and manager (book: principal_a) both see.


def _organizations(firm: Firm, n: int) -> list[int]:
    return [f.CustomerFactory(tenant=firm.tenant, parent=firm.customer).pk for _ in range(n)]


def _contacts(firm: Firm, n: int) -> list[int]:
    boss = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    return [
        f.ContactFactory(tenant=firm.tenant, organization=firm.customer, reports_to=boss).pk
        for _ in range(n - 1)
    ] + [boss.pk]


def _products(firm: Firm, n: int) -> list[int]:
    return [f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a).pk for _ in range(n)]


def _opportunities(firm: Firm, n: int) -> list[int]:
    return [
        f.OpportunityFactory(
            tenant=firm.tenant,
            principal=firm.principal_a,
            customer=firm.customer,
            distributor=firm.distributor,
            owner=firm.manager,
        ).pk
        for _ in range(n)
    ]


def _interactions(firm: Firm, n: int) -> list[int]:
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    return [
        f.InteractionFactory(
            tenant=firm.tenant,
            organization=firm.customer,
            contact=contact,
            opportunity=opportunity,
            principal=firm.principal_a,
            user=firm.manager,
        ).pk
        for _ in range(n)
    ]


def _tasks(firm: Firm, n: int) -> list[int]:
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    return [
        f.TaskFactory(
            tenant=firm.tenant,
            organization=firm.customer,
            contact=contact,
            opportunity=opportunity,
            assignee=firm.manager,
            due_time=[None, dt.time(9, 30), dt.time(14, 5, 7, 250)][i % 3],
        ).pk
        for i in range(n)
    ]


def _members(firm: Firm, n: int) -> list[int]:
    made = [f.MembershipFactory(tenant=firm.tenant) for _ in range(n)]
    for membership in made:
        f.PrincipalAssignmentFactory(tenant=firm.tenant, user=membership.user, principal=firm.principal_a)
    return [m.pk for m in made]


def _principal_assignments(firm: Firm, n: int) -> list[int]:
    return [f.PrincipalAssignmentFactory(tenant=firm.tenant, user=firm.manager).pk for _ in range(n)]


def _distributor_authorizations(firm: Firm, n: int) -> list[int]:
    return [
        f.DistributorAuthorizationFactory(tenant=firm.tenant, principal=firm.principal_a).pk for _ in range(n)
    ]


def _customer_distributors(firm: Firm, n: int) -> list[int]:
    return [f.CustomerDistributorFactory(tenant=firm.tenant, customer=firm.customer).pk for _ in range(n)]


def _product_distributors(firm: Firm, n: int) -> list[int]:
    product = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a)
    return [f.ProductDistributorFactory(tenant=firm.tenant, product=product).pk for _ in range(n)]


def _opportunity_products(firm: Firm, n: int) -> list[int]:
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    return [f.OpportunityProductFactory(tenant=firm.tenant, opportunity=opportunity).pk for _ in range(n)]


def _opportunity_contacts(firm: Firm, n: int) -> list[int]:
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    return [f.OpportunityContactFactory(tenant=firm.tenant, opportunity=opportunity).pk for _ in range(n)]


def _samples(firm: Firm, n: int) -> list[int]:
    return [
        f.SampleLineFactory(
            tenant=firm.tenant,
            interaction=f.SampleFactory(
                tenant=firm.tenant,
                interaction__principal=firm.principal_a,
                interaction__organization=firm.customer,
            ).interaction,
            product__principal=firm.principal_a,
        )
        .interaction.samples.get()
        .pk
        for _ in range(n)
    ]


@dataclass(frozen=True)
class Resource:
    name: str
    make: Callable[[Firm, int], list[int]]
    expand: str  # every expandable field, comma-separated ("" when the resource has none)

    @property
    def url(self) -> str:
        return f"{API}/{self.name}/"

    def __str__(self) -> str:
        return self.name


RESOURCES = [
    Resource("organizations", _organizations, "parent,account_manager"),
    Resource("contacts", _contacts, "organization,reports_to"),
    Resource("products", _products, "principal"),
    Resource("opportunities", _opportunities, "principal,customer,distributor,owner"),
    Resource("interactions", _interactions, "organization,contact,opportunity,principal,user"),
    Resource("tasks", _tasks, "assignee,organization,contact,opportunity,principal,created_by"),
    Resource("members", _members, ""),
    Resource("principal-assignments", _principal_assignments, "user,principal"),
    Resource("distributor-authorizations", _distributor_authorizations, "distributor,principal"),
    Resource("customer-distributors", _customer_distributors, "customer,distributor"),
    Resource("product-distributors", _product_distributors, "product,distributor"),
    Resource("opportunity-products", _opportunity_products, "opportunity,product"),
    Resource("opportunity-contacts", _opportunity_contacts, "opportunity,contact"),
    Resource("samples", _samples, ""),
]
BUSINESS_RESOURCES = [r for r in RESOURCES if r.name != "members"]
