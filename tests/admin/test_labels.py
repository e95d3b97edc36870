"""Rows are labelled by the names of what they link ("Sysco Boston serves Joe's Diner"), never by ids,
and pages listing them load those names with the rows (no query per row)."""

from __future__ import annotations

from crm import rls
from crm.models import PrincipalAssignment
from opportunities.models import Opportunity
from organizations.models import Organization
from products.models import Product
from tests import factories as f
from tests.admin.support import Sample, count_queries, signed_in, url
from tests.conftest import Firm


def test_link_rows_are_labelled_by_names(firm: Firm, sample: Sample) -> None:
    distributor, customer, principal = firm.distributor.name, firm.customer.name, firm.principal_a.name
    product, opportunity, contact = str(sample.product), sample.opportunity.name, str(sample.contact)
    sample.product_distributor.vendor_item_number = "12345"
    assert str(sample.customer_distributor) == f"{distributor} serves {customer}"
    assert str(sample.authorization) == f"{distributor} carries {principal}"
    assert str(sample.product_distributor) == f"Item 12345 at {distributor}"
    sample.product_distributor.vendor_item_number = ""
    assert str(sample.product_distributor) == f"{product} at {distributor}"
    assert str(sample.opportunity_product) == f"{product} in {opportunity}"
    assert str(sample.opportunity_contact) == f"{contact} on {opportunity}"
    assignment = PrincipalAssignment.objects.get(user=firm.manager)
    assert str(assignment) == f"{principal} in {firm.manager}'s book"


def test_a_label_names_what_the_member_may_not_see_by_its_id(firm: Firm) -> None:
    authorization = f.DistributorAuthorizationFactory(
        tenant=firm.tenant, distributor=firm.distributor, principal=firm.principal_b
    )
    with rls.acting_as(firm.manager.pk):  # principal B is outside the manager's book
        row = type(authorization)(
            pk=authorization.pk, distributor_id=firm.distributor.pk, principal_id=firm.principal_b.pk
        )
        assert str(row) == f"{firm.distributor.name} carries #{firm.principal_b.pk}"


def test_inline_rows_show_names_on_the_change_pages(firm: Firm, sample: Sample) -> None:
    client = signed_in(firm.admin)
    sample.product_distributor.vendor_item_number = "778899"
    sample.product_distributor.save()
    pages = {
        url(Opportunity, "change", sample.opportunity.pk): [str(sample.opportunity_product)],
        url(Product, "change", sample.product.pk): [f"Item 778899 at {firm.distributor.name}"],
        url(Organization, "change", firm.customer.pk): [
            f"{firm.distributor.name} serves {firm.customer.name}"
        ],
        url(Organization, "change", firm.principal_a.pk): [
            f"{firm.distributor.name} carries {firm.principal_a.name}"
        ],
    }
    for path, labels in pages.items():
        html = client.get(path).content.decode().replace("&#x27;", "'")
        for label in labels:
            assert label in html, (path, label)


def test_product_and_customer_pages_with_links_do_not_grow_with_rows(firm: Firm) -> None:
    client = signed_in(firm.admin)
    product = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a)

    def add(n: int) -> None:
        for _ in range(n):
            distributor = f.DistributorFactory(tenant=firm.tenant)
            f.ProductDistributorFactory(tenant=firm.tenant, product=product, distributor=distributor)
            f.CustomerDistributorFactory(tenant=firm.tenant, customer=firm.customer, distributor=distributor)

    product_page, customer_page = (
        url(Product, "change", product.pk),
        url(Organization, "change", firm.customer.pk),
    )
    add(2)
    few = (count_queries(client, product_page), count_queries(client, customer_page))
    add(8)
    assert (count_queries(client, product_page), count_queries(client, customer_page)) == few
