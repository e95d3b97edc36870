"""The import's rows, a chunk at a time: references resolved and existing records found by natural key in
a few queries per chunk, every row validated by the API's own serializer, then written in bulk (row by
row, each in a savepoint, only for a chunk the database refused, to name the rows at fault).

Runs inside the caller's transaction as the importer (crm.rls.acting_as): what the importer may not see
cannot be referenced or matched, and what they may not write the database refuses.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, models, transaction
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL
from django.db.models.fields import NOT_PROVIDED
from rest_framework import serializers

from contacts.serializers import ContactSerializer
from crm.api.constraints import describe_database_error
from crm.api.serializers import TenantModelSerializer
from crm.rls import RequestContext
from crm.text import NameKey, name_key
from imports.columns import KINDS, Column, header_key
from imports.models import ImportKind, RowAction
from organizations.models import Organization
from organizations.serializers import (
    CustomerDistributorSerializer,
    DistributorAuthorizationSerializer,
    OrganizationSerializer,
)
from products.models import Product
from products.serializers import ProductDistributorSerializer, ProductSerializer

CHUNK_ROWS = 1000

SERIALIZERS: dict[str, type[TenantModelSerializer]] = {
    ImportKind.ORGANIZATIONS: OrganizationSerializer,
    ImportKind.CONTACTS: ContactSerializer,
    ImportKind.PRODUCTS: ProductSerializer,
    ImportKind.DISTRIBUTOR_AUTHORIZATIONS: DistributorAuthorizationSerializer,
    ImportKind.CUSTOMER_DISTRIBUTORS: CustomerDistributorSerializer,
    ImportKind.PRODUCT_DISTRIBUTORS: ProductDistributorSerializer,
}

_TRUE = frozenset({"true", "yes", "y", "1", "x", "t", "on"})
_FALSE = frozenset({"false", "no", "n", "0", "f", "off"})
_DIGITS = re.compile(r"^\d{1,18}$")
# A link's natural key: its pair of references.
LINK_PAIRS: dict[str, tuple[str, str]] = {
    ImportKind.DISTRIBUTOR_AUTHORIZATIONS: ("distributor", "principal"),
    ImportKind.CUSTOMER_DISTRIBUTORS: ("customer", "distributor"),
    ImportKind.PRODUCT_DISTRIBUTORS: ("product", "distributor"),
}
# The column a repeated or ambiguous natural key is reported on.
KEY_FIELD: dict[str, str] = {
    ImportKind.ORGANIZATIONS: "name",
    ImportKind.CONTACTS: "email",
    ImportKind.PRODUCTS: "sku",
    **{kind: pair[0] for kind, pair in LINK_PAIRS.items()},
}
# Text fields of the natural keys, compared as the keys compare them (crm_name_key).
KEY_TEXT_FIELDS: dict[str, tuple[str, ...]] = {
    ImportKind.ORGANIZATIONS: ("name",),
    ImportKind.CONTACTS: ("email", "first_name", "last_name"),
    ImportKind.PRODUCTS: ("sku",),
}


@dataclass
class Row:
    """One data row of the file and what became of it."""

    number: int  # in the file: the header is row 1
    cells: dict[str, str]  # field → text, non-empty cells only
    data: dict[str, Any] = field(default_factory=dict)  # the serializer's input
    errors: list[tuple[str, str]] = field(default_factory=list)  # (column as headed in the file, message)
    key: tuple[Any, ...] | None = None
    existing: Any = None
    attrs: dict[str, Any] = field(default_factory=dict)  # validated
    changed: tuple[str, ...] = ()
    action: str = RowAction.ERROR
    record_id: int | None = None

    def report(self) -> list[Any]:
        return [self.number, self.action, self.record_id, [list(error) for error in self.errors]]


class Preloaded(serializers.Field):
    """Stands in for a serializer's relation field: the id was resolved (under RLS, live rows only) for
    the whole chunk at once, so validating a row costs no query."""

    default_error_messages = {"does_not_exist": 'Invalid pk "{pk_value}" - object does not exist.'}

    def __init__(self, objects: dict[int, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.objects = objects

    def to_internal_value(self, data: Any) -> Any:
        found = self.objects.get(data) if isinstance(data, int) else None
        if found is None:
            self.fail("does_not_exist", pk_value=data)
        return found

    def to_representation(self, value: Any) -> Any:
        return value.pk


def _choices(field: serializers.ChoiceField) -> dict[str, str]:
    """A choice by its value or its label, as a spreadsheet spells them ("Fine dining", "QSR")."""
    found: dict[str, str] = {}
    for value, label in field.choices.items():
        found.setdefault(header_key(str(value)), str(value))
        found.setdefault(header_key(str(label)), str(value))
    return found


class Importer:
    """Processes one import's rows, chunk by chunk, keeping the natural keys seen (a repeat in the file is
    the later row's error) and the summary."""

    def __init__(
        self,
        *,
        kind: str,
        context: RequestContext,
        header: list[str],
        mapping: dict[int, str],
        write: bool,
    ) -> None:
        self.kind = kind
        self.context = context
        self.write = write
        self.columns = KINDS[kind].by_field()
        self.mapping = mapping
        self.header_of = {field: header[index] for index, field in mapping.items()}
        serializer_class = SERIALIZERS[kind]
        self.model: Any = serializer_class.Meta.model
        request = SimpleNamespace(crm=context, _request=SimpleNamespace(crm=context))
        self.objects: dict[str, dict[int, Any]] = {"organization": {}, "member": {}, "product": {}}
        self.creating = serializer_class(context={"request": request})
        self.updating = serializer_class(context={"request": request}, partial=True)
        self.coercers: dict[str, Callable[[str], Any]] = {}
        for name, serializer_field in self.creating.fields.items():
            if isinstance(serializer_field, serializers.BooleanField):
                self.coercers[name] = _boolean
            elif isinstance(serializer_field, serializers.ChoiceField):
                self.coercers[name] = _choice(_choices(serializer_field))
            elif isinstance(serializer_field, serializers.DecimalField):
                self.coercers[name] = _decimal
        for serializer in (self.creating, self.updating):
            for name, column in self.columns.items():
                if column.reference is not None and name in serializer.fields:
                    old = serializer.fields[name]
                    serializer.fields[name] = Preloaded(
                        self.objects[column.reference.target],
                        required=old.required,
                        allow_null=old.allow_null,
                    )
        self.seen: dict[tuple[Any, ...], int] = {}
        self.organization_index: dict[str, set[int]] | None = None
        self.summary = dict.fromkeys(RowAction.values, 0)

    # --- one chunk -----------------------------------------------------------------------------------

    def process(self, numbered_rows: Iterable[tuple[int, list[str]]]) -> list[Row]:
        rows = [self._row(number, cells) for number, cells in numbered_rows]
        self._resolve_references(rows)
        for row in rows:
            if not row.errors:
                row.key = self._natural_key(row)
        self._find_existing([row for row in rows if row.key is not None and not row.errors])
        for row in rows:
            if not row.errors:
                self._validate(row)
        if self.write:
            self._write(
                [row for row in rows if not row.errors and row.action == RowAction.CREATE], create=True
            )
            self._write(
                [row for row in rows if not row.errors and row.action == RowAction.UPDATE], create=False
            )
        for row in rows:
            if row.errors:
                row.action = RowAction.ERROR
            self.summary[row.action] += 1
        return rows

    def _row(self, number: int, cells: list[str]) -> Row:
        row = Row(number, {})
        for index, name in self.mapping.items():
            text = cells[index].strip() if index < len(cells) else ""
            if text:
                row.cells[name] = text
        for name, text in row.cells.items():
            column = self.columns[name]
            if column.reference is not None or name not in self.creating.fields:
                continue
            coerce = self.coercers.get(name)
            row.data[name] = coerce(text) if coerce else text
        return row

    def _error(self, row: Row, name: str, message: str) -> None:
        row.errors.append((self.header_of.get(name, name), message))

    # --- references ------------------------------------------------------------------------------------

    def _resolve_references(self, rows: list[Row]) -> None:
        wanted: dict[str, set[str]] = defaultdict(set)
        for row in rows:
            for name, text in row.cells.items():
                reference = self.columns[name].reference
                if reference is not None:
                    wanted[reference.target].add(text)
        organizations = self._organizations(wanted["organization"]) if wanted["organization"] else {}
        members = self._members(wanted["member"]) if wanted["member"] else {}
        for row in rows:
            for name, text in list(row.cells.items()):
                column = self.columns[name]
                if column.reference is None or column.reference.target == "product":
                    continue
                found = organizations if column.reference.target == "organization" else members
                resolved = self._pick(row, column, text, found)
                if resolved is not None:
                    row.data[name] = resolved
        if self.kind == ImportKind.PRODUCT_DISTRIBUTORS:
            self._resolve_products(rows)

    def _organizations(self, texts: set[str]) -> dict[str, list[Any]]:
        ids = {int(text) for text in texts if _DIGITS.match(text)}
        keys = {name_key(text) for text in texts if not _DIGITS.match(text)}
        if keys:
            index = self._organization_index()
            ids |= {pk for key in keys for pk in index.get(key, ())}
        found: dict[str, list[Any]] = defaultdict(list)
        by_id = Organization.objects.filter(
            tenant_id=self.context.member_tenant_id, deleted_at__isnull=True, pk__in=ids
        )
        for organization in by_id.only("id", "name", "type", "tenant_id", "scope_principal_id"):
            self.objects["organization"][organization.pk] = organization
            found[str(organization.pk)].append(organization)
            found[name_key(organization.name)].append(organization)
        return found

    def _organization_index(self) -> dict[str, set[int]]:
        """Folded name → ids of the live organizations the importer sees, read once an import.

        A lookup by crm_name_key(name) cannot use its index under RLS (the key's functions are not
        leakproof, so PostgreSQL evaluates them after the policy, row by row): one pass over the firm's
        names, folded here as the database folds them (crm.text.name_key), is far cheaper than one such
        scan per chunk. Records the import creates are added as they are."""
        if self.organization_index is None:
            index: dict[str, set[int]] = defaultdict(set)
            names = Organization.objects.filter(
                tenant_id=self.context.member_tenant_id, deleted_at__isnull=True
            )
            for pk, name in names.values_list("pk", "name").iterator(chunk_size=10_000):
                index[name_key(name)].add(pk)
            self.organization_index = index
        return self.organization_index

    def _members(self, texts: set[str]) -> dict[str, list[Any]]:
        ids = [int(text) for text in texts if _DIGITS.match(text)]
        emails = [text.lower() for text in texts if not _DIGITS.match(text)]
        found: dict[str, list[Any]] = defaultdict(list)
        users = get_user_model()._default_manager.filter(
            RawSQL("crm_is_member(crm_user.id, %s)", (self.context.tenant_id,), output_field=BooleanField())
        )
        for user in users.filter(Q(pk__in=ids) | Q(email__in=emails)):
            self.objects["member"][user.pk] = user
            found[str(user.pk)].append(user)
            found[name_key(user.email)].append(user)
        return found

    def _pick(self, row: Row, column: Column, text: str, found: dict[str, list[Any]]) -> int | None:
        reference = column.reference
        assert reference is not None
        by_id = bool(_DIGITS.match(text))
        candidates = found.get(text if by_id else name_key(text), [])
        what = reference.what or ("a member" if reference.target == "member" else "an organization")
        noun = what.split(" ", 1)[1]
        if reference.types:
            fitting = [c for c in candidates if c.type in reference.types]
            if candidates and not fitting:
                self._error(row, column.field, f"{text!r} is a {candidates[0].type}, not {what}.")
                return None
            candidates = fitting
        if not candidates:
            self._error(row, column.field, f"No {noun} {text!r} that you can see.")
            return None
        if len(candidates) > 1:
            self._error(row, column.field, f"Several records are named {text!r}: give its id instead.")
            return None
        return int(candidates[0].pk)

    def _resolve_products(self, rows: list[Row]) -> None:
        ids = {int(row.cells["product"]) for row in rows if _DIGITS.match(row.cells.get("product", ""))}
        pairs = {
            (row.data["principal"], name_key(row.cells["sku"]))
            for row in rows
            if "product" not in row.cells and "principal" in row.data and "sku" in row.cells
        }
        condition = Q(pk__in=ids)
        if pairs:
            condition |= Q(principal_id__in={p for p, _ in pairs}, sku_key__in={s for _, s in pairs})
        products = (
            Product.objects.filter(tenant_id=self.context.member_tenant_id, deleted_at__isnull=True)
            .annotate(sku_key=NameKey("sku"))
            .filter(condition)
            .only("id", "principal_id", "sku", "tenant_id")
        )
        by_pair = {}
        for product in products:
            self.objects["product"][product.pk] = product
            by_pair[(product.principal_id, product.sku_key)] = product.pk
        for row in rows:
            if "product" in row.cells:
                text = row.cells["product"]
                if _DIGITS.match(text) and int(text) in self.objects["product"]:
                    row.data["product"] = int(text)
                else:
                    self._error(row, "product", f"No product {text!r} that you can see.")
            elif "principal" in row.data and "sku" in row.cells:
                pk = by_pair.get((row.data["principal"], name_key(row.cells["sku"])))
                if pk is None:
                    self._error(row, "sku", f"The principal has no product with SKU {row.cells['sku']!r}.")
                else:
                    row.data["product"] = pk
            elif not row.errors:
                self._error(row, "product", "Give the product's id, or its principal and SKU.")

    # --- natural keys and existing records ---------------------------------------------------------

    def _natural_key(self, row: Row) -> tuple[Any, ...] | None:
        data = row.data
        kind = self.kind
        if kind == ImportKind.ORGANIZATIONS:
            return (name_key(data["name"]),) if data.get("name") else None
        if kind == ImportKind.CONTACTS:
            if "organization" not in data:
                return None
            if data.get("email"):
                return (data["organization"], "email", name_key(data["email"]))
            if data.get("first_name"):
                return (
                    data["organization"],
                    "name",
                    name_key(data["first_name"]),
                    name_key(data.get("last_name", "")),
                )
            return None
        if kind == ImportKind.PRODUCTS:
            return (
                (data["principal"], name_key(data["sku"]))
                if "principal" in data and data.get("sku")
                else None
            )
        pair = LINK_PAIRS[kind]
        return (data[pair[0]], data[pair[1]]) if pair[0] in data and pair[1] in data else None

    def _find_existing(self, rows: list[Row]) -> None:
        """Each row's live record with its natural key (one query), and a repeat of a key earlier in the
        file as the row's error."""
        for row in rows:
            assert row.key is not None
            first = self.seen.setdefault(row.key, row.number)
            if first != row.number:
                self._error(
                    row, self._key_field(), f"Same record as row {first}: each appears once in a file."
                )
        rows = [row for row in rows if not row.errors]
        if not rows:
            return
        keys = [row.key for row in rows if row.key is not None]
        live = self.model._default_manager.filter(
            tenant_id=self.context.member_tenant_id, deleted_at__isnull=True
        )
        existing: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
        if self.kind == ImportKind.ORGANIZATIONS:
            index = self._organization_index()
            for record in live.filter(pk__in={pk for key in keys for pk in index.get(key[0], ())}):
                existing[(name_key(record.name),)].append(record)
        elif self.kind == ImportKind.CONTACTS:
            found = live.filter(organization_id__in={k[0] for k in keys}).annotate(
                email_key=NameKey("email"), first_key=NameKey("first_name"), last_key=NameKey("last_name")
            )
            for record in found:
                if record.email:
                    existing[(record.organization_id, "email", record.email_key)].append(record)
                # A row without an email (or whose email is new) matches by name a contact without one.
                if not record.email:
                    existing[(record.organization_id, "name", record.first_key, record.last_key)].append(
                        record
                    )
        elif self.kind == ImportKind.PRODUCTS:
            found = live.annotate(sku_key=NameKey("sku")).filter(
                principal_id__in={k[0] for k in keys}, sku_key__in={k[1] for k in keys}
            )
            for record in found:
                existing[(record.principal_id, record.sku_key)].append(record)
        else:
            first_column, second_column = (f"{name}_id" for name in LINK_PAIRS[self.kind])
            found = live.filter(
                **{f"{first_column}__in": {k[0] for k in keys}, f"{second_column}__in": {k[1] for k in keys}}
            )
            for record in found:
                existing[(getattr(record, first_column), getattr(record, second_column))].append(record)
        for row in rows:
            assert row.key is not None
            matches = existing.get(row.key, [])
            if self.kind == ImportKind.CONTACTS and not matches and row.key[1] == "email":
                first_name = row.data.get("first_name", "")
                by_name = (row.key[0], "name", name_key(first_name), name_key(row.data.get("last_name", "")))
                matches = existing.get(by_name, []) if first_name else []
            if self.kind == ImportKind.ORGANIZATIONS and len(matches) > 1:
                # A principal and a shared organization may share a name: the row's type tells them apart.
                wanted = row.data.get("type")
                matches = [
                    m for m in matches if wanted and (m.type == "principal") == (wanted == "principal")
                ]
                if not matches:
                    self._error(
                        row, "name", "A principal and another organization have this name: give the type."
                    )
                    continue
            if len(matches) > 1:
                self._error(
                    row, self._key_field(), "Several records match this row: remove the duplicates first."
                )
                continue
            row.existing = matches[0] if matches else None

    def _key_field(self) -> str:
        return KEY_FIELD[self.kind]

    # --- validation --------------------------------------------------------------------------------

    def _validate(self, row: Row) -> None:
        """The API's serializer, as a POST (new record) or a PATCH of the matched one would run it; an
        empty cell leaves a field as it is (or to its default)."""
        serializer = self.creating if row.existing is None else self.updating
        serializer.instance = row.existing
        try:
            attrs = serializer.run_validation(row.data)
        except serializers.ValidationError as error:
            for name, messages in _flat_errors(error.detail):
                self._error(row, name, messages)
            return
        finally:
            serializer.instance = None
        row.attrs = attrs
        if row.existing is None:
            row.action = RowAction.CREATE
            return
        row.record_id = row.existing.pk
        folded = KEY_TEXT_FIELDS.get(self.kind, ())
        row.changed = tuple(
            name
            for name, value in attrs.items()
            if _stored(row.existing, name) != _comparable(value)
            # A natural key spelled another way ("ACME" for "Acme", "chk-1" for "CHK-1") is the same record
            # as it is: the stored spelling stays (and a manager's file does not try to rename a principal).
            and not (name in folded and name_key(_stored(row.existing, name)) == name_key(value))
        )
        row.action = RowAction.UPDATE if row.changed else RowAction.UNCHANGED

    # --- writes ------------------------------------------------------------------------------------

    def _write(self, rows: list[Row], *, create: bool) -> None:
        if not rows:
            return
        try:
            with transaction.atomic():
                if create:
                    records = [self._new(row) for row in rows]
                    self._insert(records)
                    for row, record in zip(rows, records, strict=True):
                        row.record_id = record.pk
                    self._indexed(records)
                else:
                    changed = sorted({name for row in rows for name in row.changed})
                    records = [self._updated(row) for row in rows]
                    self.model._default_manager.bulk_update(records, changed, batch_size=CHUNK_ROWS)
            return
        except DatabaseError:
            pass
        # The database refused something in the chunk: the rows one by one, each in its savepoint.
        for row in rows:
            try:
                with transaction.atomic():
                    if create:
                        record = self._new(row)
                        record.save(force_insert=True)
                        row.record_id = record.pk
                        self._indexed([record])
                    else:
                        self._updated(row).save(update_fields=row.changed)
            except DatabaseError as error:
                described = describe_database_error(error)
                cause = error.__cause__ or error
                if described is not None:
                    name, _code, message = described
                    self._error(row, name or "", message)
                elif getattr(cause, "sqlstate", None) == "42501":
                    self._error(row, "", "You are not allowed to make this change (row level security).")
                else:
                    raise
                row.record_id = None if create else row.record_id

    def _insert(self, records: list[Any]) -> None:
        """The records in one INSERT … SELECT FROM unnest(column arrays): what bulk_create does, with one
        parameter per column instead of one per cell, so a chunk's statement is small to build and send.
        Columns the database fills (db defaults: the audit times; generated ones; those its triggers keep,
        `kept_by_database`, such as the duplicates' match keys, whose arrays unnest() would flatten) are
        left to it; the row triggers fire for each row as for any insert."""
        kept = set(getattr(self.model, "kept_by_database", ()))
        fields = [
            field
            for field in self.model._meta.concrete_fields
            if not field.primary_key
            and not field.generated
            and field.db_default is NOT_PROVIDED
            and field.name not in kept
        ]
        quote = connection.ops.quote_name
        columns = ", ".join(quote(field.column) for field in fields)
        arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields)
        values = [
            [field.get_db_prep_save(getattr(r, field.attname), connection) for r in records]
            for field in fields
        ]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {quote(self.model._meta.db_table)} ({columns}) SELECT * FROM unnest({arrays}) RETURNING id",  # noqa: S608 - names from the model
                values,
            )
            ids = [pk for (pk,) in cursor.fetchall()]
        for record, pk in zip(records, ids, strict=True):
            record.pk = pk
            record._state.adding = False
            record._state.db = connection.alias

    def _indexed(self, records: list[Any]) -> None:
        """New organizations in the name index, so later rows (a parent named further down) find them."""
        if self.organization_index is not None and self.model is Organization:
            for record in records:
                self.organization_index[name_key(record.name)].add(record.pk)

    def _new(self, row: Row) -> Any:
        record = self.model(**row.attrs)
        record.tenant_id = self.context.tenant_id
        record.created_by_id = record.updated_by_id = self.context.user_id
        return record

    def _updated(self, row: Row) -> Any:
        record = row.existing
        for name in row.changed:
            setattr(record, name, row.attrs[name])
        return record


def _boolean(text: str) -> Any:
    lowered = text.lower()
    return True if lowered in _TRUE else False if lowered in _FALSE else text


def _choice(choices: dict[str, str]) -> Callable[[str], str]:
    return lambda text: choices.get(header_key(text), text)


def _decimal(text: str) -> str:
    return text.replace("$", "").replace(",", "").strip()


def _stored(record: Any, name: str) -> Any:
    model_field = record._meta.get_field(name)
    return getattr(record, model_field.attname)


def _comparable(value: Any) -> Any:
    return value.pk if isinstance(value, models.Model) else value


def _flat_errors(detail: Any, name: str = "") -> list[tuple[str, str]]:
    if isinstance(detail, dict):
        return [
            pair
            for key, value in detail.items()
            for pair in _flat_errors(value, "" if key == "non_field_errors" else str(key))
        ]
    if isinstance(detail, list):
        return [pair for item in detail for pair in _flat_errors(item, name)]
    return [(name, str(detail))]
