"""Imports run as the job runs them (imports.services.import_run), as a member under RLS: each kind's rows
created, updated or left unchanged by natural key, errors per row with the column and message, dry runs,
all-or-nothing against per-row, history carrying the import's id, and access."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from contacts.models import Contact
from crm.models import HistoryEntry
from imports.models import ImportState
from organizations.models import CustomerDistributor, DistributorAuthorization, Organization
from products.models import Product, ProductDistributor
from tests import factories as f
from tests.conftest import Firm
from tests.imports.support import csv_bytes, run, xlsx_bytes

ORGANIZATIONS = [
    ["Account Name", "Type", "Priority", "Industry", "E-mail", "Zip", "Owner"],
    ["Corner Deli", "Customer", "A", "Fast casual", "orders@corner.example", "02134", ""],
    ["Harbor Grill", "prospect", "b", "fine_dining", "", "", ""],
]


def actions(record: Any) -> list[tuple[int, str]]:
    return [(row, action) for row, action, _id, _errors in record.report]


def errors(record: Any) -> list[tuple[int, str, str]]:
    return [(row, column, message) for row, _a, _i, errs in record.report for column, message in errs]


def test_organizations_are_created_then_a_reimport_of_the_same_file_changes_nothing(firm: Firm) -> None:
    content = csv_bytes(ORGANIZATIONS)
    first = run(firm.admin, content, kind="organizations")
    assert first.state == ImportState.SUCCEEDED, first.error
    assert actions(first) == [(2, "create"), (3, "create")]
    deli = Organization.objects.get(name="Corner Deli")
    assert (deli.type, deli.priority, deli.segment, deli.email, deli.postal_code) == (
        "customer",
        "A",
        "fast_casual",
        "orders@corner.example",
        "02134",
    )
    assert deli.created_by_id == firm.admin.pk
    version = deli.version

    again = run(firm.admin, content, kind="organizations")
    assert actions(again) == [(2, "unchanged"), (3, "unchanged")]
    assert {k: again.summary[k] for k in ("create", "update", "unchanged", "error")} == {
        "create": 0,
        "update": 0,
        "unchanged": 2,
        "error": 0,
    }
    deli.refresh_from_db()
    assert deli.version == version
    assert Organization.objects.filter(name__in=["Corner Deli", "Harbor Grill"]).count() == 2


def test_a_row_matching_an_existing_organization_by_its_folded_name_updates_only_what_differs(
    firm: Firm,
) -> None:
    content = csv_bytes([["Company", "City", "Priority"], [f"  {firm.customer.name.upper()} ", "Boston", ""]])
    record = run(firm.admin, content, kind="organizations")
    assert actions(record) == [(2, "update")]
    assert record.report[0][2] == firm.customer.pk
    customer = Organization.objects.get(pk=firm.customer.pk)
    # The name as it was spelled (the same key); an empty cell leaves a field as it was.
    assert (customer.city, customer.priority, customer.name) == (
        "Boston",
        firm.customer.priority,
        firm.customer.name,
    )
    entry = HistoryEntry.objects.filter(
        table_name="organization", row_id=customer.pk, operation="update"
    ).get()
    assert entry.request_id == f"import:{record.pk}"
    assert entry.actor_id == firm.admin.pk
    assert set(entry.changes) == {"city", "version"} or set(entry.changes) == {"city"}


def test_history_of_created_rows_carries_the_import_id(firm: Firm) -> None:
    record = run(firm.admin, csv_bytes(ORGANIZATIONS), kind="organizations")
    ids = [row_id for _row, _action, row_id, _errors in record.report]
    entries = HistoryEntry.objects.filter(table_name="organization", row_id__in=ids)
    assert {(e.operation, e.request_id, e.actor_id) for e in entries} == {
        ("insert", f"import:{record.pk}", firm.admin.pk)
    }
    assert entries.count() == 2


def test_every_error_names_its_row_column_and_message_and_all_or_nothing_writes_nothing(firm: Firm) -> None:
    content = csv_bytes(
        [
            ["Company", "Type", "Priority", "E-mail", "Owner"],
            ["Good One", "customer", "A", "", ""],
            ["", "customer", "", "", ""],
            ["Bad Type", "restaurant", "Z", "not-an-email", ""],
            ["Good One", "prospect", "", "", ""],
            ["Nobody's", "customer", "", "", "ghost@example.test"],
        ]
    )
    record = run(firm.admin, content, kind="organizations")
    assert record.state == ImportState.FAILED
    assert record.error == "4 row(s) have errors: nothing was written."
    assert record.summary["written"] is False
    assert actions(record) == [(2, "create"), (3, "error"), (4, "error"), (5, "error"), (6, "error")]
    assert record.report[0][2] is None  # rolled back: no id to show
    assert errors(record) == [
        (3, "Company", "This field is required."),
        (4, "Type", '"restaurant" is not a valid choice.'),
        (4, "Priority", '"Z" is not a valid choice.'),
        (4, "E-mail", "Enter a valid email address."),
        (5, "Company", "Same record as row 2: each appears once in a file."),
        (6, "Owner", "No member 'ghost@example.test' that you can see."),
    ]
    assert not Organization.objects.filter(name="Good One").exists()


def test_per_row_mode_writes_the_good_rows_and_skips_the_bad(firm: Firm) -> None:
    content = csv_bytes(
        [["Company", "Type"], ["Good One", "customer"], ["Bad", "restaurant"], ["Good Two", "prospect"]]
    )
    record = run(firm.admin, content, kind="organizations", mode="per_row")
    assert record.state == ImportState.SUCCEEDED
    assert actions(record) == [(2, "create"), (3, "error"), (4, "create")]
    assert set(Organization.objects.filter(name__startswith="Good").values_list("name", flat=True)) == {
        "Good One",
        "Good Two",
    }


def test_a_refusal_only_the_database_knows_is_the_rows_error_and_the_chunk_rest_is_written(
    firm: Firm,
) -> None:
    # A customer cannot become a distributor (organizations' trigger): the serializer cannot tell.
    content = csv_bytes([["Company", "Type"], [firm.customer.name, "distributor"], ["Brand New", "customer"]])
    record = run(firm.admin, content, kind="organizations", mode="per_row")
    assert actions(record) == [(2, "error"), (3, "create")]
    assert errors(record) == [(2, "Type", "type can change only between customer and prospect")]
    assert Organization.objects.get(pk=firm.customer.pk).type == "customer"
    assert Organization.objects.filter(name="Brand New").exists()


def test_a_dry_run_reports_what_would_happen_and_writes_nothing(firm: Firm) -> None:
    content = csv_bytes(
        [
            ["Company", "City", "Type"],
            [firm.customer.name, "Salem", ""],
            ["Brand New", "", "prospect"],
            [firm.distributor.name, "", ""],
        ]
    )
    record = run(firm.admin, content, kind="organizations", dry_run=True)
    assert record.state == ImportState.SUCCEEDED
    assert actions(record) == [(2, "update"), (3, "create"), (4, "unchanged")]
    assert record.summary["written"] is False
    assert not Organization.objects.filter(name="Brand New").exists()
    assert Organization.objects.get(pk=firm.customer.pk).city != "Salem"
    assert not HistoryEntry.objects.filter(request_id=f"import:{record.pk}").exists()


def test_an_xlsx_workbook_imports_as_its_csv_would(firm: Firm) -> None:
    record = run(firm.admin, xlsx_bytes(ORGANIZATIONS), kind="organizations", file_name="orgs.xlsx")
    assert record.file_type == "xlsx"
    assert actions(record) == [(2, "create"), (3, "create")]
    assert Organization.objects.get(name="Corner Deli").postal_code == "02134"
    again = run(firm.admin, csv_bytes(ORGANIZATIONS), kind="organizations")
    assert actions(again) == [(2, "unchanged"), (3, "unchanged")]


def test_windows_1252_and_utf16_files_import_the_same_names(firm: Firm) -> None:
    rows = [["Company", "City", "Type"], ["Café Crème", "Zürich", "customer"]]
    first = run(firm.admin, csv_bytes(rows, encoding="cp1252"), kind="organizations")
    assert first.encoding == "cp1252" and actions(first) == [(2, "create")]
    again = run(firm.admin, csv_bytes(rows, encoding="utf-16"), kind="organizations")
    assert again.encoding == "utf-16" and actions(again) == [(2, "unchanged")]
    assert Organization.objects.get(name="Café Crème").city == "Zürich"


def test_contacts_by_organization_name_match_by_email_else_by_name(firm: Firm) -> None:
    known = f.ContactFactory(
        tenant=firm.tenant,
        organization=firm.customer,
        first_name="Ana",
        last_name="Ruiz",
        email="ana@bistro.example",
    )
    nameless = f.ContactFactory(
        tenant=firm.tenant, organization=firm.customer, first_name="Bo", last_name="Lind", email=""
    )
    content = csv_bytes(
        [
            ["Company", "First Name", "Last Name", "E-mail", "Job Title", "Primary"],
            [firm.customer.name, "Ana", "Ruiz", "ANA@bistro.example", "Chef", "yes"],
            [firm.customer.name, "Bo", "Lind", "bo@bistro.example", "", ""],
            [str(firm.distributor.pk), "Cy", "Moss", "", "Buyer", "no"],
            ["Nowhere Inc", "Di", "", "", "", ""],
        ]
    )
    record = run(firm.manager, content, kind="contacts", mode="per_row")
    assert actions(record) == [(2, "update"), (3, "update"), (4, "create"), (5, "error")]
    assert errors(record) == [(5, "Company", "No organization 'Nowhere Inc' that you can see.")]
    known.refresh_from_db()
    nameless.refresh_from_db()
    assert (known.title, known.is_primary) == ("Chef", True)
    assert nameless.email == "bo@bistro.example"
    assert Contact.objects.get(first_name="Cy").organization_id == firm.distributor.pk
    again = run(firm.manager, content, kind="contacts", mode="per_row")
    assert actions(again) == [(2, "unchanged"), (3, "unchanged"), (4, "unchanged"), (5, "error")]


def test_products_by_principal_name_and_sku(firm: Firm) -> None:
    existing = f.ProductFactory(
        tenant=firm.tenant,
        principal=firm.principal_a,
        sku="CHK-1001",
        name="Chicken",
        list_price=Decimal("10.00"),
    )
    content = csv_bytes(
        [
            ["Manufacturer", "Item Number", "Product Name", "Price", "Category"],
            [firm.principal_a.name, "chk-1001", "Chicken", "$12.50", "Meat & poultry"],
            [firm.principal_a.name, "FRY-2", "Fries", "3", "frozen"],
        ]
    )
    record = run(firm.manager, content, kind="products")
    assert actions(record) == [(2, "update"), (3, "create")], errors(record)
    existing.refresh_from_db()
    assert (existing.list_price, existing.category, existing.sku) == (
        Decimal("12.50"),
        "meat_poultry",
        "CHK-1001",
    )
    assert Product.objects.get(sku="FRY-2").principal_id == firm.principal_a.pk
    assert actions(run(firm.manager, content, kind="products")) == [(2, "unchanged"), (3, "unchanged")]


def test_a_manager_cannot_import_outside_their_book(firm: Firm) -> None:
    """Principal B is outside the manager's book: it cannot be named (not found), nor matched."""
    content = csv_bytes(
        [
            ["Principal", "SKU", "Name"],
            [firm.principal_b.name, "X-1", "Hidden"],
            [str(firm.principal_b.pk), "X-2", "Hidden"],
            [firm.principal_a.name, "A-1", "Mine"],
        ]
    )
    record = run(firm.manager, content, kind="products")
    assert record.state == ImportState.FAILED
    assert errors(record) == [
        (2, "Principal", f"No principal {firm.principal_b.name!r} that you can see."),
        (3, "Principal", f"No principal '{firm.principal_b.pk}' that you can see."),
    ]
    assert not Product.objects.filter(sku__in=["X-1", "X-2", "A-1"]).exists()
    # Nor can a manager add a principal, as through the API.
    principals = run(
        firm.manager, csv_bytes([["Name", "Type"], ["New Line", "principal"]]), kind="organizations"
    )
    assert errors(principals) == [(2, "Type", "Only an admin can add a principal.")]


def test_another_firms_records_are_never_found(firm: Firm, other_firm: Firm) -> None:
    content = csv_bytes(
        [["Company", "First Name"], [other_firm.customer.name, "Eve"], [str(other_firm.customer.pk), "Eve"]]
    )
    record = run(firm.admin, content, kind="contacts")
    assert [e[2] for e in errors(record)] == [
        f"No organization {other_firm.customer.name!r} that you can see.",
        f"No organization '{other_firm.customer.pk}' that you can see.",
    ]
    # A same-named organization in the other firm is not the one this firm's import updates.
    mine = run(
        firm.admin,
        csv_bytes([["Company", "City", "Type"], [other_firm.customer.name, "Oslo", "customer"]]),
        kind="organizations",
    )
    assert actions(mine) == [(2, "create")]
    assert Organization.objects.get(pk=other_firm.customer.pk).city != "Oslo"


def test_links_by_their_pair_of_names(firm: Firm) -> None:
    authorizations = csv_bytes(
        [
            ["Distributor", "Principal", "Authorized On"],
            [firm.distributor.name, firm.principal_a.name, "2024-01-15"],
        ]
    )
    record = run(firm.admin, authorizations, kind="distributor_authorizations")
    assert actions(record) == [(2, "create")], errors(record)
    assert (
        DistributorAuthorization.objects.get(
            distributor=firm.distributor, principal=firm.principal_a
        ).authorized_on.isoformat()
        == "2024-01-15"
    )
    assert actions(run(firm.admin, authorizations, kind="distributor_authorizations")) == [(2, "unchanged")]

    wrong = csv_bytes([["Distributor", "Principal"], [firm.customer.name, firm.principal_a.name]])
    assert errors(run(firm.admin, wrong, kind="distributor_authorizations")) == [
        (2, "Distributor", f"{firm.customer.name!r} is a customer, not a distributor.")
    ]

    served = csv_bytes(
        [["Operator", "Distributor", "Primary"], [firm.customer.name, firm.distributor.name, "x"]]
    )
    record = run(firm.admin, served, kind="customer_distributors")
    assert actions(record) == [(2, "create")], errors(record)
    assert CustomerDistributor.objects.get(customer=firm.customer).is_primary is True
    assert actions(run(firm.admin, served, kind="customer_distributors")) == [(2, "unchanged")]

    product = f.ProductFactory(tenant=firm.tenant, principal=firm.principal_a, sku="CHK-1")
    items = csv_bytes(
        [
            ["Principal", "SKU", "Distributor", "DIN"],
            [firm.principal_a.name, "chk-1", firm.distributor.name, "778899"],
            [firm.principal_a.name, "NOPE", firm.distributor.name, "1"],
        ]
    )
    record = run(firm.admin, items, kind="product_distributors", mode="per_row")
    assert actions(record) == [(2, "create"), (3, "error")]
    assert errors(record) == [(3, "SKU", "The principal has no product with SKU 'NOPE'.")]
    assert ProductDistributor.objects.get(product=product).vendor_item_number == "778899"
    by_id = csv_bytes(
        [["Product", "Distributor", "DIN"], [str(product.pk), str(firm.distributor.pk), "778800"]]
    )
    assert actions(run(firm.admin, by_id, kind="product_distributors")) == [(2, "update")]


def test_the_queries_of_an_import_grow_with_its_chunks_not_its_rows(
    firm: Firm, django_assert_max_num_queries: Any
) -> None:
    def rows(n: int, name: str) -> bytes:
        return csv_bytes(
            [["Company", "City", "Owner", "Type"]]
            + [[f"{name} {i}", "Salem", firm.manager.email, "customer"] for i in range(n)]
        )

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        run(firm.admin, rows(5, "Shop"), kind="organizations")
    with CaptureQueriesContext(connection) as many:
        run(firm.admin, rows(500, "Store"), kind="organizations")
    assert len(many) == len(few), [q["sql"][:80] for q in many.captured_queries]
    assert len(few) <= 30, [q["sql"][:80] for q in few.captured_queries]


def test_an_importer_demoted_to_viewer_before_the_job_runs_writes_nothing(firm: Firm) -> None:
    from crm import rls
    from crm.models import Membership
    from imports import services

    content = csv_bytes([["Company", "Type"], ["Corner Deli", "customer"]])
    with rls.acting_as(firm.manager.pk) as context:
        record = services.import_create(
            context=context, content=content, file_name="orgs.csv", kind="organizations", defer=False
        )
    Membership.objects.filter(user=firm.manager).update(role="viewer")
    done = services.import_run(import_id=record.pk, user_id=firm.manager.pk)
    assert done.state == ImportState.FAILED
    assert errors(done) == [(2, "", "You are not allowed to make this change (row level security).")]
    assert not Organization.objects.filter(name="Corner Deli").exists()
