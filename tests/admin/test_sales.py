"""The sales pages of the admin: facts and kept rows to read (within the member's book), aliases and
mappings to correct by hand, recorded as the member's."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sales.models import ColumnMapping, CustomerAlias, SalesFact
from tests import factories as f
from tests.admin.support import form_errors, signed_in, submit, url
from tests.conftest import Firm

WEEK = dt.date(2026, 3, 2)


def _fact(firm: Firm, principal: object, **kw: object) -> SalesFact:
    kw.setdefault("distributor", firm.distributor)
    return SalesFact.objects.create(
        tenant=firm.tenant, product=f.ProductFactory(tenant=firm.tenant, principal=principal),
        customer=firm.customer, principal_id=0, period_kind="week", period_start=WEEK, cases=Decimal(2), **kw,
    )  # fmt: skip


def _listed(response: object) -> set[int]:
    return {obj.pk for obj in response.context["cl"].result_list}  # type: ignore[attr-defined]


def test_facts_list_filters_by_distributor_principal_and_period_within_the_book(firm: Firm) -> None:
    a = _fact(firm, firm.principal_a)
    b = _fact(firm, firm.principal_b)
    zeta = f.DistributorFactory(tenant=firm.tenant, name="Zeta Foods")
    other = _fact(firm, firm.principal_a, distributor=zeta)
    admin = signed_in(firm.admin)
    assert _listed(admin.get(url(SalesFact))) == {a.pk, b.pk, other.pk}
    assert _listed(admin.get(url(SalesFact), {"distributor": zeta.pk})) == {other.pk}
    assert _listed(admin.get(url(SalesFact), {"principal": firm.principal_b.pk})) == {b.pk}
    period = {"period_start__gte": "2026-03-02", "period_start__lt": "2026-03-09"}
    assert _listed(admin.get(url(SalesFact), period)) == {a.pk, b.pk, other.pk}
    assert _listed(admin.get(url(SalesFact), {"period_start__gte": "2026-03-09"})) == set()
    # A manager and a viewer read their book's facts only; the other book's has no page for them.
    assert _listed(signed_in(firm.manager).get(url(SalesFact))) == {a.pk, other.pk}
    assert _listed(signed_in(firm.viewer).get(url(SalesFact))) == {a.pk, other.pk}
    assert signed_in(firm.manager).get(url(SalesFact, "change", b.pk)).status_code == 302


def test_a_manager_adds_an_alias_recorded_as_theirs_and_removes_it(firm: Firm) -> None:
    manager = signed_in(firm.manager)
    response = submit(
        manager,
        url(CustomerAlias, "add"),
        CustomerAlias,
        distributor=str(firm.distributor.pk),
        kind="ship_to_number",
        value="  ST-42 ",
        customer=str(firm.customer.pk),
    )
    assert response.status_code == 302, form_errors(response)
    alias = CustomerAlias.objects.get(value="ST-42")
    assert (alias.created_by_id, alias.customer_id, alias.value_key) == (
        firm.manager.pk,
        firm.customer.pk,
        "st-42",
    )
    response = manager.post(url(CustomerAlias, "delete", alias.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not CustomerAlias.objects.filter(pk=alias.pk).exists()


def test_an_alias_for_a_principal_instead_of_a_customer_is_refused_on_the_form(firm: Firm) -> None:
    response = submit(
        signed_in(firm.admin),
        url(CustomerAlias, "add"),
        CustomerAlias,
        distributor=str(firm.distributor.pk),
        kind="ship_to_name",
        value="Corner Deli",
        customer=str(firm.principal_a.pk),
    )
    assert "customer" in form_errors(response)


def test_a_mapping_edited_in_the_admin_records_its_editor(firm: Firm) -> None:
    mapping = ColumnMapping.objects.create(
        tenant=firm.tenant, distributor=firm.distributor, mapping={"Item": "item_number"}
    )
    path = url(ColumnMapping, "change", mapping.pk)
    response = submit(
        signed_in(firm.manager), path, ColumnMapping, mapping='{"Item": "item_number", "Qty": "cases"}'
    )
    assert response.status_code == 302, form_errors(response)
    mapping.refresh_from_db()
    assert (
        mapping.mapping == {"Item": "item_number", "Qty": "cases"}
        and mapping.updated_by_id == firm.manager.pk
    )
    refused = submit(signed_in(firm.manager), path, ColumnMapping, mapping='{"Qty": "quantity"}')
    assert form_errors(refused)  # not a sales field: the database's check, shown on the form


def test_a_writer_confirms_a_kept_row_in_the_admin_and_it_becomes_a_fact_with_its_alias_learned(
    firm: Firm,
) -> None:
    from sales.models import SalesUnmatched
    from tests.sales.support import build, run_sales, sales_file

    world = build(firm)
    run_sales(
        firm.manager,
        firm.distributor,
        sales_file(
            ["2026-03-02", "1001", "", "", "0042", "CORNER CAFE #7", "4", "40"],
            ["2026-03-09", "1001", "", "", "0042", "CORNER CAFE #7", "5", ""],
            ["2026-03-09", "1001", "", "", "0099", "Other Place", "2", ""],  # another ship-to: stays kept
        ),
    )
    first = SalesUnmatched.objects.order_by("id").first()
    assert first is not None and first.product_id == world.pizza.pk and first.customer_id is None
    path = url(SalesUnmatched, "change", first.pk)
    # A viewer reads the row and its suggestions, with nothing to choose.
    page = signed_in(firm.viewer).get(path)
    assert page.status_code == 200 and b"Corner Cafe Holdings" in page.content
    assert "customer" not in page.context["adminform"].form.fields
    manager = signed_in(firm.manager)
    form = manager.get(path).context["adminform"].form
    assert set(form.fields) == {"customer"}  # the product was recognised: read-only
    # Choosing nothing is refused on the form.
    assert form_errors(manager.post(path, {})) == {"__all__": ["Choose the customer, the product, or both."]}
    response = manager.post(path, {"customer": str(world.cafe.pk)}, follow=True)
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert shown == [
        "Confirmed: 2 kept row(s) of this distributor matched, 2 fact(s) written;"
        f" learned the alias “0042” for {world.cafe}."
    ], shown
    assert sorted((fact.period_start, fact.cases) for fact in SalesFact.objects.all()) == [
        (dt.date(2026, 3, 2), Decimal("4.000")),
        (dt.date(2026, 3, 9), Decimal("5.000")),
    ]
    assert list(SalesUnmatched.objects.values_list("ship_to_number", flat=True)) == ["0099"]
    alias = CustomerAlias.objects.get()
    assert (alias.value, alias.customer_id, alias.created_by_id) == ("0042", world.cafe.pk, firm.manager.pk)
    # A principal is no customer: the choice is refused on the form, nothing written.
    other = SalesUnmatched.objects.get()
    refused = manager.post(url(SalesUnmatched, "change", other.pk), {"customer": str(firm.principal_a.pk)})
    assert "customer" in form_errors(refused)
    assert SalesUnmatched.objects.filter(pk=other.pk, customer__isnull=True).exists()
