"""Which columns each kind of import takes, the header names people give them, and how a file's header
maps onto them (synonyms, overridden by the request's mapping)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from imports.models import ImportKind
from imports.parsing import FileRefused


@dataclass(frozen=True)
class Reference:
    """A column naming another record by id or by name: an organization (of `types`), a member (by email),
    or a product (by id; by SKU with the row's principal)."""

    target: str  # "organization", "member", "product"
    types: tuple[str, ...] = ()  # organization types allowed
    what: str = ""  # "a distributor", for messages


@dataclass(frozen=True)
class Column:
    field: str
    synonyms: tuple[str, ...] = ()
    reference: Reference | None = None


@dataclass(frozen=True)
class KindColumns:
    columns: tuple[Column, ...]
    # Fields that must have a column (a row may still leave one empty and get that row's error).
    required: tuple[str, ...]
    # Groups of fields of which at least one must have a column.
    one_of: tuple[tuple[str, ...], ...] = ()

    def by_field(self) -> dict[str, Column]:
        return {column.field: column for column in self.columns}


def header_key(text: str) -> str:
    """ "E-mail", "e_mail" and " Email " alike: lower case, letters and digits only."""
    return re.sub(r"[\W_]+", "", text.casefold())


ORGANIZATION = Reference("organization")
PRINCIPAL = Reference("organization", ("principal",), "a principal")
DISTRIBUTOR = Reference("organization", ("distributor",), "a distributor")
CUSTOMER = Reference("organization", ("customer", "prospect"), "a customer or prospect")
MEMBER = Reference("member")
PRODUCT = Reference("product")

_ADDRESS = (
    Column("phone", ("telephone", "phone number", "tel", "main phone", "business phone")),
    Column("email", ("e-mail", "email address", "mail")),
    Column("street", ("address", "street address", "address line 1", "billing street", "address1")),
    Column("city", ("town", "billing city")),
    Column("state", ("province", "region", "state/province", "billing state")),
    Column("postal_code", ("zip", "zip code", "zipcode", "postcode", "postal code", "billing zip")),
    Column("country", ("billing country",)),
)

KINDS: dict[str, KindColumns] = {
    ImportKind.ORGANIZATIONS: KindColumns(
        (
            Column(
                "name",
                ("company", "company name", "account", "account name", "organization", "business name"),
            ),
            Column("type", ("organization type", "account type", "kind")),
            Column("priority", ("tier", "rating")),
            Column("segment", ("industry", "channel", "market segment")),
            Column("parent", ("parent account", "parent organization", "parent company"), ORGANIZATION),
            Column("account_manager", ("owner", "account owner", "rep", "sales rep"), MEMBER),
            Column("status", ("account status",)),
            *_ADDRESS,
            Column("website", ("web", "url", "web site", "homepage")),
            Column("notes", ("note", "comments", "description")),
        ),
        required=("name",),
    ),
    ImportKind.CONTACTS: KindColumns(
        (
            Column(
                "organization",
                ("company", "company name", "account", "account name", "organization name"),
                ORGANIZATION,
            ),
            Column("first_name", ("first", "given name", "firstname", "forename")),
            Column("last_name", ("last", "surname", "family name", "lastname")),
            Column("title", ("job title", "position")),
            Column("role", ("contact role", "buying role")),
            Column("email", ("e-mail", "email address", "mail")),
            Column("phone", ("telephone", "work phone", "business phone", "office phone")),
            Column("mobile", ("cell", "mobile phone", "cell phone")),
            Column("is_primary", ("primary", "primary contact", "main contact")),
            Column("notes", ("note", "comments")),
        ),
        required=("organization", "first_name"),
    ),
    ImportKind.PRODUCTS: KindColumns(
        (
            Column("principal", ("manufacturer", "brand", "supplier", "principal name"), PRINCIPAL),
            Column("name", ("product", "product name", "item", "item name", "description")),
            Column("sku", ("item number", "item code", "product code", "code", "item no", "mfr item")),
            Column("category", ("product category",)),
            Column("status", ("product status",)),
            Column("pack_size", ("pack", "pack size", "case pack")),
            Column("unit_of_measure", ("uom", "unit")),
            Column("list_price", ("price", "case price", "list")),
            Column("description", ("notes", "details")),
        ),
        required=("principal", "name", "sku"),
    ),
    ImportKind.DISTRIBUTOR_AUTHORIZATIONS: KindColumns(
        (
            Column("distributor", ("distributor name", "dc", "house"), DISTRIBUTOR),
            Column("principal", ("manufacturer", "brand", "principal name", "line"), PRINCIPAL),
            Column("authorized_on", ("authorized", "authorized date", "start date", "since")),
            Column("expires_on", ("expires", "expiry", "expiration date", "end date")),
            Column("notes", ("note", "comments")),
        ),
        required=("distributor", "principal"),
    ),
    ImportKind.CUSTOMER_DISTRIBUTORS: KindColumns(
        (
            Column("customer", ("operator", "account", "account name", "customer name"), CUSTOMER),
            Column("distributor", ("distributor name", "dc", "house"), DISTRIBUTOR),
            Column("is_primary", ("primary", "primary distributor")),
        ),
        required=("customer", "distributor"),
    ),
    ImportKind.PRODUCT_DISTRIBUTORS: KindColumns(
        (
            Column("product", ("product id",), PRODUCT),
            Column("principal", ("manufacturer", "brand", "principal name"), PRINCIPAL),
            Column("sku", ("item number", "mfr item", "product code", "manufacturer item")),
            Column("distributor", ("distributor name", "dc", "house"), DISTRIBUTOR),
            Column(
                "vendor_item_number",
                (
                    "distributor item",
                    "distributor item number",
                    "dist item",
                    "vendor item",
                    "item code",
                    "din",
                ),
            ),
        ),
        # product, or principal and sku: checked per row
        required=("distributor",),
    ),
    # A distributor's sales (depletion) report (the sales app, ADR 0034): the distributor is the import's.
    ImportKind.SALES: KindColumns(
        (
            Column(
                "item_number",
                (
                    "distributor item",
                    "distributor item number",
                    "dist item",
                    "item",
                    "item number",
                    "item no",
                    "item #",
                    "din",
                    "supc",
                    "vendor item",
                ),
            ),
            Column("sku", ("mfr item", "manufacturer item", "mfr sku", "mfg item", "mfr item number", "mpc")),
            Column("description", ("item description", "product", "product name", "product description")),
            Column(
                "ship_to_number",
                (
                    "ship to",
                    "ship to number",
                    "ship to #",
                    "customer number",
                    "customer #",
                    "cust no",
                    "cust #",
                    "account number",
                ),
            ),
            Column("ship_to_name", ("ship to name", "customer", "customer name", "account name", "operator")),
            Column(
                "period",
                (
                    "week",
                    "week ending",
                    "week of",
                    "week start",
                    "month",
                    "invoice date",
                    "date",
                    "ship date",
                ),
            ),
            Column("cases", ("qty", "quantity", "case qty", "cases sold", "cs", "units")),
            Column("dollars", ("sales", "sales $", "amount", "net sales", "extended price", "revenue")),
            Column("currency", ("curr", "currency code")),
        ),
        required=("period", "cases"),
        one_of=(("item_number", "sku"), ("ship_to_number", "ship_to_name")),
    ),
}


def map_header(kind: str, header: list[str], overrides: Mapping[str, str | None]) -> dict[int, str]:
    """Column index → field. `overrides` maps a header as written in the file to a field, or to ""/None to
    ignore that column; other headers are matched by their name or a synonym, and unknown ones ignored.
    FileRefused when two columns land on one field, an override names an unknown field or header, or a
    required field has no column."""
    spec = KINDS[kind]
    fields = spec.by_field()
    by_key: dict[str, str] = {}
    for column in spec.columns:
        for name in (column.field, *column.synonyms):
            by_key.setdefault(header_key(name), column.field)
    override_keys = {header_key(name): target for name, target in overrides.items()}
    unknown_headers = set(override_keys) - {header_key(name) for name in header}
    if unknown_headers:
        names = ", ".join(name for name in overrides if header_key(name) in unknown_headers)
        raise FileRefused(f"The mapping names columns the file does not have: {names}.", field="mapping")
    mapped: dict[int, str] = {}
    taken: dict[str, str] = {}
    for index, name in enumerate(header):
        key = header_key(name)
        if not key:
            continue
        if key in override_keys:
            target = override_keys[key]
            if not target:
                continue
            if target not in fields:
                raise FileRefused(
                    f"The mapping sends {name!r} to {target!r}, not a field of {kind} imports; "
                    f"fields: {', '.join(fields)}.",
                    field="mapping",
                )
        elif key in by_key:
            target = by_key[key]
        else:
            continue
        if target in taken:
            raise FileRefused(
                f"Columns {taken[target]!r} and {name!r} both give {target}: map one of them elsewhere "
                "(mapping) or remove it."
            )
        taken[target] = name
        mapped[index] = target
    missing = [field for field in spec.required if field not in taken]
    if (
        kind == ImportKind.PRODUCT_DISTRIBUTORS
        and "product" not in taken
        and not {"principal", "sku"} <= set(taken)
    ):
        missing.append("product (or principal and sku)")
    missing += [" or ".join(group) for group in spec.one_of if not set(group) & set(taken)]
    if missing:
        looked_for = "; ".join(
            f"{field}: {', '.join((field, *fields[field].synonyms))}" for field in missing if field in fields
        )
        raise FileRefused(
            f"No column for {', '.join(missing)}."
            + (f" Header names taken: {looked_for}." if looked_for else "")
        )
    return mapped
