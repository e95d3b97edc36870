"""Deleting in the admin sets deleted_at (soft delete); rows that live rows still need are refused."""

from __future__ import annotations

from django.db import connection

from contacts.models import Contact
from opportunities.models import Opportunity, OpportunityContact, OpportunityProduct
from organizations.models import Organization
from products.models import Product
from tests import factories as f
from tests.admin.support import form_data, form_errors, signed_in, url
from tests.conftest import Firm


def test_delete_sets_deleted_at_and_hides_the_row(firm: Firm) -> None:
    product = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a)
    client = signed_in(firm.manager)
    response = client.post(url(Product, "delete", product.pk), {"post": "yes"})
    assert response.status_code == 302
    product.refresh_from_db()  # still there, as the owner sees it
    assert product.deleted_at is not None
    assert product.updated_by_id == firm.manager.pk
    assert client.get(url(Product, "change", product.pk)).status_code == 302  # gone for the admin


def test_an_organization_with_live_contacts_is_protected(firm: Firm) -> None:
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    client = signed_in(firm.manager)
    page = client.get(url(Organization, "delete", firm.customer.pk))
    assert page.status_code == 200
    assert any(str(contact) in line for line in page.context["protected"])
    client.post(url(Organization, "delete", firm.customer.pk), {"post": "yes"})
    firm.customer.refresh_from_db()
    assert firm.customer.deleted_at is None


def test_deleting_an_opportunity_takes_its_products_and_contacts_along(firm: Firm) -> None:
    line = f.OpportunityProductFactory(tenant=firm.tenant, opportunity__principal=firm.principal_a)
    opportunity = line.opportunity
    person = f.OpportunityContactFactory(tenant=firm.tenant, opportunity=opportunity)
    response = signed_in(firm.manager).post(url(Opportunity, "delete", opportunity.pk), {"post": "yes"})
    assert response.status_code == 302
    for row in (opportunity, line, person):
        row.refresh_from_db()
        assert row.deleted_at is not None
    assert OpportunityProduct.objects.filter(pk=line.pk).exists()
    assert OpportunityContact.objects.filter(pk=person.pk).exists()


def test_delete_selected_action_soft_deletes(firm: Firm) -> None:
    products = f.ProductFactory.create_batch(3, tenant=firm.tenant, principal=firm.principal_a)
    chosen = [str(p.pk) for p in products[:2]]
    client = signed_in(firm.manager)
    confirm = client.post(url(Product), {"action": "delete_selected", "_selected_action": chosen})
    assert confirm.status_code == 200  # the confirmation page
    response = client.post(
        url(Product), {"action": "delete_selected", "_selected_action": chosen, "post": "yes"}
    )
    assert response.status_code == 302
    assert sorted(Product.objects.filter(deleted_at__isnull=False).values_list("pk", flat=True)) == sorted(
        p.pk for p in products[:2]
    )


def test_deleting_an_inline_row_soft_deletes_it(firm: Firm) -> None:
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    client = signed_in(firm.manager)
    path = url(Organization, "change", firm.customer.pk)
    data = form_data(client.get(path), Organization)
    data["contacts-0-DELETE"] = "on"
    response = client.post(path, data)
    assert response.status_code == 302, form_errors(response)
    contact.refresh_from_db()
    assert contact.deleted_at is not None


def test_a_delete_the_database_refuses_is_a_message(firm: Firm) -> None:
    # A rule of the database's own refuses the write (a trigger created for this test, rolled back
    # with it): the admin must show a message, not a 500, and write nothing.
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION pg_temp.refuse_for_test() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN RAISE EXCEPTION 'refused for the test' USING ERRCODE = 'check_violation'; END $$;"
            " CREATE TRIGGER refuse_for_test BEFORE UPDATE ON contact"
            " FOR EACH ROW EXECUTE FUNCTION pg_temp.refuse_for_test();"
        )
    client = signed_in(firm.manager)
    response = client.post(url(Contact, "delete", contact.pk), {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert any("Not deleted" in str(m) for m in response.context["messages"])
    contact.refresh_from_db()
    assert contact.deleted_at is None


def test_viewer_cannot_delete(firm: Firm) -> None:
    product = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a)
    assert signed_in(firm.viewer).post(url(Product, "delete", product.pk), {"post": "yes"}).status_code == 403
