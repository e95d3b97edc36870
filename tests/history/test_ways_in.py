"""Every way a row can change leaves the same history: the API, the Django admin, a management command
and raw SQL as the runtime role, each with the right actor and request id."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from contacts.models import Contact
from crm import rls
from organizations.models import Organization
from products.models import Product
from tests import factories as f
from tests.admin.support import form_errors, signed_in, submit, url
from tests.conftest import Firm
from tests.history.support import entries


def test_admin_change_form_records_the_signed_in_user_and_the_requests_id(firm: Firm) -> None:
    product = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a, name="Crinkle fries")

    response = submit(
        signed_in(firm.manager), url(Product, "change", product.pk), Product, name="Waffle fries"
    )

    assert response.status_code == 302, form_errors(response)
    newest = entries("product", product.pk)[0]
    assert (newest.operation, newest.actor_id) == ("update", firm.manager.pk)
    assert newest.request_id == response["X-Request-ID"] != ""
    assert newest.changes == {"name": ["Crinkle fries", "Waffle fries"]}


def test_admin_add_form_records_an_insert_by_the_signed_in_user(firm: Firm) -> None:
    response = submit(
        signed_in(firm.admin), url(Organization, "add"), Organization, name="Harbor Grill", type="customer"
    )

    assert response.status_code == 302, form_errors(response)
    added = Organization.objects.get(name="Harbor Grill")
    (insert,) = entries("organization", added.pk)
    assert (insert.operation, insert.actor_id, insert.request_id) == (
        "insert",
        firm.admin.pk,
        response["X-Request-ID"],
    )
    assert insert.changes["name"] == [None, "Harbor Grill"]


def test_admin_delete_is_a_soft_delete_recorded_with_the_user(firm: Firm) -> None:
    product = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a)

    response = signed_in(firm.manager).post(url(Product, "delete", product.pk), {"post": "yes"})

    assert response.status_code == 302
    product.refresh_from_db()
    assert product.deleted_at is not None and product.deleted_by_id == firm.manager.pk
    newest = entries("product", product.pk)[0]
    assert (newest.operation, newest.actor_id, newest.request_id) == (
        "delete",
        firm.manager.pk,
        response["X-Request-ID"],
    )


def test_raw_sql_as_the_runtime_role_records_the_acting_user_and_request_id(firm: Firm) -> None:
    with rls.acting_as(firm.manager.pk, request_id="nightly-import-7"), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO contact (organization_id, first_name, last_name, title, role, email, phone, mobile,"
            " is_primary, notes) VALUES (%s, 'Rosa', 'Diaz', '', 'buyer', '', '', '', false, '') RETURNING id",
            [firm.customer.pk],
        )
        (contact_id,) = cursor.fetchone()
        cursor.execute("UPDATE contact SET title = 'Purchasing' WHERE id = %s", [contact_id])
        cursor.execute("UPDATE contact SET deleted_at = now() WHERE id = %s", [contact_id])

    found = entries("contact", contact_id)
    assert [e.operation for e in found] == ["delete", "update", "insert"]
    assert {(e.actor_id, e.request_id) for e in found} == {(firm.manager.pk, "nightly-import-7")}
    assert found[1].changes == {"title": ["", "Purchasing"]}
    assert Contact.objects.get(pk=contact_id).deleted_by_id == firm.manager.pk


def test_raw_sql_without_a_request_id_records_an_empty_one(firm: Firm) -> None:
    with rls.acting_as(firm.admin.pk), connection.cursor() as cursor:
        cursor.execute("UPDATE organization SET notes = 'From psql' WHERE id = %s", [firm.customer.pk])

    newest = entries("organization", firm.customer.pk)[0]
    assert (newest.actor_id, newest.request_id, newest.changes) == (
        firm.admin.pk,
        "",
        {"notes": ["", "From psql"]},
    )


def test_purge_command_records_a_purge_entry_with_no_user_and_the_rows_last_values(firm: Firm) -> None:
    contact = f.ContactFactory(tenant=firm.tenant, organization=firm.customer, first_name="Gone")
    Contact.objects.filter(pk=contact.pk).update(deleted_at=timezone.now())

    call_command("purge", tenant=firm.tenant.pk, older_than=0, stdout=StringIO())

    purge = entries("contact", contact.pk)[0]
    # The command runs as the operator on the server, not as a member of the firm.
    assert (purge.operation, purge.actor_id, purge.request_id) == ("purge", None, "")
    assert purge.changes["first_name"] == ["Gone", None]
    assert purge.changes["organization_id"] == [firm.customer.pk, None]
