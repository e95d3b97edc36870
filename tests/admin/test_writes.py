"""Saving through the admin: the firm is set from the request, inlines save, and a write the database
refuses comes back as a form error (never a 500, never half written)."""

from __future__ import annotations

from contacts.models import Contact
from crm.models import Membership, PrincipalAssignment, Role, User
from interactions.models import Interaction
from opportunities.models import Opportunity, OpportunityProduct
from organizations.models import Organization
from products.models import Product
from tests import factories as f
from tests.admin.support import add_inline_row, form_data, form_errors, signed_in, submit, url
from tests.conftest import Firm


def test_manager_adds_an_organization_in_their_firm(firm: Firm) -> None:
    response = submit(
        signed_in(firm.manager), url(Organization, "add"), Organization, name="Harbor Grill", type="customer"
    )
    assert response.status_code == 302, form_errors(response)
    added = Organization.objects.get(name="Harbor Grill")
    assert added.tenant_id == firm.tenant.pk
    assert added.created_by_id == firm.manager.pk


def test_contacts_added_inline_belong_to_the_firm_and_the_organization(firm: Firm) -> None:
    client = signed_in(firm.manager)
    path = url(Organization, "change", firm.customer.pk)
    data = form_data(client.get(path), Organization)
    add_inline_row(
        data, "contacts", first_name="Rosa", last_name="Diaz", role="buyer", email="rosa@bistro.test"
    )
    response = client.post(path, data)
    assert response.status_code == 302, form_errors(response)
    rosa = Contact.objects.get(first_name="Rosa")
    assert (rosa.tenant_id, rosa.organization_id) == (firm.tenant.pk, firm.customer.pk)


def test_interaction_defaults_to_the_signed_in_user(firm: Firm) -> None:
    response = submit(
        signed_in(firm.manager),
        url(Interaction, "add"),
        Interaction,
        type="call",
        subject="Menu review",
        organization=str(firm.customer.pk),
    )
    assert response.status_code == 302, form_errors(response)
    logged = Interaction.objects.get(subject="Menu review")
    assert (logged.user_id, logged.tenant_id) == (firm.manager.pk, firm.tenant.pk)


def test_product_of_a_customer_is_refused_on_the_principal_field(firm: Firm) -> None:
    response = submit(
        signed_in(firm.admin),
        url(Product, "add"),
        Product,
        principal=str(firm.customer.pk),
        name="Oat milk",
        sku="OAT-1",
    )
    assert "principal" in form_errors(response)
    assert not Product.objects.filter(sku="OAT-1").exists()


def test_interaction_with_another_organizations_contact_shows_the_databases_reason(firm: Firm) -> None:
    elsewhere = f.ContactFactory(tenant=firm.tenant, organization=firm.distributor)
    response = submit(
        signed_in(firm.manager),
        url(Interaction, "add"),
        Interaction,
        type="call",
        subject="Wrong contact",
        organization=str(firm.customer.pk),
        contact=str(elsewhere.pk),
    )
    errors = form_errors(response)
    assert any("Contact must belong" in e for e in errors["contact"]), errors  # in the form's words
    assert not Interaction.objects.filter(subject="Wrong contact").exists()


def test_principal_cannot_become_a_customer(firm: Firm) -> None:
    response = submit(
        signed_in(firm.admin), url(Organization, "change", firm.principal_a.pk), Organization, type="customer"
    )
    assert form_errors(response)["type"]  # the database's reason, e.g. "type can change only between…"
    firm.principal_a.refresh_from_db()
    assert firm.principal_a.type == "principal"


def test_duplicate_name_is_a_form_error(firm: Firm) -> None:
    response = submit(
        signed_in(firm.manager),
        url(Organization, "add"),
        Organization,
        name=firm.customer.name.upper(),
        type="prospect",
    )
    assert form_errors(response)["name"] == ["An organization with this name already exists."]


def test_refused_inline_row_leaves_nothing_half_written(firm: Firm) -> None:
    opportunity = f.OpportunityFactory(tenant=firm.tenant, principal=firm.principal_a, customer=firm.customer)
    other_line = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_b)
    client = signed_in(firm.admin)
    path = url(Opportunity, "change", opportunity.pk)
    data = form_data(client.get(path), Opportunity)
    data["name"] = "Renamed placement"
    add_inline_row(data, "opportunity_products", product=str(other_line.pk), weekly_case_volume="4")
    response = client.post(path, data)
    errors = form_errors(response)
    assert any("principal" in e for e in errors["opportunity_products"]), errors
    opportunity.refresh_from_db()
    assert opportunity.name != "Renamed placement"
    assert not OpportunityProduct.objects.filter(opportunity=opportunity).exists()


def test_admin_adds_a_member_with_a_role_and_a_book(firm: Firm) -> None:
    client = signed_in(firm.admin)
    path = url(User, "add")
    data = form_data(client.get(path), User)
    data.update(
        email="New.Rep@Acme.test",
        first_name="New",
        last_name="Rep",
        role=Role.MANAGER,
        usable_password="true",
        password1="a-long-enough-pass-42",
        password2="a-long-enough-pass-42",
    )
    add_inline_row(data, "book", principal=str(firm.principal_b.pk))
    response = client.post(path, data)
    assert response.status_code == 302, form_errors(response)
    user = User.objects.get(email="new.rep@acme.test")
    assert user.check_password("a-long-enough-pass-42")
    assert (user.membership.tenant_id, user.membership.role) == (firm.tenant.pk, Role.MANAGER)
    assert list(PrincipalAssignment.objects.filter(user=user).values_list("principal_id", flat=True)) == [
        firm.principal_b.pk
    ]


def test_admin_changes_a_role(firm: Firm) -> None:
    membership = firm.viewer.membership
    response = submit(
        signed_in(firm.admin), url(Membership, "change", membership.pk), Membership, role=Role.MANAGER
    )
    assert response.status_code == 302, form_errors(response)
    membership.refresh_from_db()
    assert membership.role == Role.MANAGER


def test_manager_cannot_change_their_book_or_role(firm: Firm) -> None:
    client = signed_in(firm.manager)
    assert (
        client.post(url(Membership, "change", firm.manager.membership.pk), {"role": "admin"}).status_code
        == 403
    )
    assert client.post(url(PrincipalAssignment, "add"), {}).status_code == 403


def test_admin_renames_and_deactivates_a_member_but_not_their_email(firm: Firm) -> None:
    response = submit(
        signed_in(firm.admin),
        url(User, "change", firm.viewer.pk),
        User,
        first_name="Renamed",
        is_active=None,
        email="stolen@elsewhere.test",
    )
    assert response.status_code == 302, form_errors(response)
    firm.viewer.refresh_from_db()
    assert (firm.viewer.first_name, firm.viewer.is_active) == ("Renamed", False)
    assert firm.viewer.email != "stolen@elsewhere.test"


def test_admin_sets_a_members_password(firm: Firm) -> None:
    path = url(User, "password", firm.manager.pk)
    response = signed_in(firm.admin).post(
        path, {"usable_password": "true", "password1": "brand-new-pass-77", "password2": "brand-new-pass-77"}
    )
    assert response.status_code == 302, response.context and response.context["form"].errors
    firm.manager.refresh_from_db()
    assert firm.manager.check_password("brand-new-pass-77")


def test_member_changes_their_own_password(firm: Firm) -> None:
    client = signed_in(firm.viewer)
    response = client.post(
        "/admin/password_change/",
        {
            "old_password": "pw-for-tests-1",
            "new_password1": "brand-new-pass-77",
            "new_password2": "brand-new-pass-77",
        },
    )
    assert response.status_code == 302, response.context and response.context["form"].errors
    firm.viewer.refresh_from_db()
    assert firm.viewer.check_password("brand-new-pass-77")
    assert client.get("/admin/").status_code == 200  # still signed in


def test_admin_stores_names_composed_and_refuses_invisible_characters(firm: Firm) -> None:
    client = signed_in(firm.manager)
    response = submit(
        client, url(Organization, "add"), Organization, name="Cafe\u0301 Zu\u0308rich", type="customer"
    )
    assert response.status_code == 302, form_errors(response)
    assert Organization.objects.filter(name="Café Zürich").exists()
    response = submit(
        client, url(Organization, "add"), Organization, name="Harbor\u200bGrill", type="customer"
    )
    assert "invisible" in " ".join(form_errors(response)["name"])
    response = submit(
        client, url(Organization, "add"), Organization, name="CAFÉ\u00a0ZÜRICH", type="customer"
    )
    assert "name" in form_errors(response) or "__all__" in form_errors(response), form_errors(response)
    assert Organization.objects.filter(tenant=firm.tenant, name__icontains="rich").count() == 1


def test_admin_refuses_an_sku_with_an_invisible_character(firm: Firm) -> None:
    response = submit(
        signed_in(firm.admin),
        url(Product, "add"),
        Product,
        principal=str(firm.principal_a.pk),
        name="Oat milk",
        sku="OAT\ufeff1",
    )
    assert "sku" in form_errors(response)
    assert not Product.objects.filter(name="Oat milk").exists()


def test_admin_refuses_a_name_with_a_hangul_filler_and_a_name_equal_under_case_folding(firm: Firm) -> None:
    client = signed_in(firm.manager)
    response = submit(
        client, url(Organization, "add"), Organization, name="Harbor\u3164Grill", type="customer"
    )
    assert "invisible" in " ".join(form_errors(response)["name"])
    response = submit(client, url(Organization, "add"), Organization, name="Straße Grill", type="customer")
    assert response.status_code == 302, form_errors(response)
    response = submit(client, url(Organization, "add"), Organization, name="STRASSE GRILL", type="customer")
    assert "name" in form_errors(response) or "__all__" in form_errors(response), form_errors(response)
    assert Organization.objects.filter(tenant=firm.tenant, name__icontains="grill").count() == 1
