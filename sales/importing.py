"""A distributor's sales file, a chunk at a time, for the import machinery (imports.services runs it, in
one transaction as the importer): each row's period, cases and dollars read, its product and customer
recognised (sales.matching); recognised rows summed into facts, the others kept aside as unmatched rows.

A period seen for the first time in the file first deletes what the distributor had for it (facts and kept
rows, as far as the importer reaches): a period re-imported replaces the old one rather than doubling it.
Later rows of the same product, customer and period add to the fact (a file of invoice lines)."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection

from crm.rls import RequestContext
from imports.engine import Row
from imports.models import RowAction
from sales.currencies import ISO_4217
from sales.matching import Matcher
from sales.models import PeriodKind, SalesUnmatched

_CURRENCIES = frozenset(ISO_4217)
_ISO_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})(?:-?\d)?$", re.IGNORECASE)
_YEAR_MONTH = re.compile(r"^(\d{4})[-/](\d{1,2})$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
CASES_LIMIT = Decimal("1e11")  # numeric(14, 3)
DOLLARS_LIMIT = Decimal("1e12")  # numeric(14, 2)


def period_start(value: datetime.date, kind: str) -> datetime.date:
    """The Monday of the date's ISO week, or the 1st of its month."""
    if kind == PeriodKind.MONTH:
        return value.replace(day=1)
    return value - datetime.timedelta(days=value.weekday())


def parse_period(text: str, kind: str) -> datetime.date:
    """A date as distributors write them (2026-03-02, 3/2/2026, 3/2/26, 20260302, an ISO week 2026-W10, a
    month 2026-03), as the start of its period. ValueError names what was expected."""
    text = text.strip()
    if match := _ISO_WEEK.match(text):
        if kind == PeriodKind.MONTH:
            raise ValueError("a week was given for a file of months")
        return datetime.date.fromisocalendar(int(match[1]), int(match[2]), 1)
    if match := _YEAR_MONTH.match(text):
        if kind == PeriodKind.WEEK:
            raise ValueError("a month was given for a file of weeks (period_kind=month?)")
        return datetime.date(int(match[1]), int(match[2]), 1)
    if match := _US_DATE.match(text):
        year = int(match[3]) + (2000 if len(match[3]) == 2 else 0)
        return period_start(datetime.date(year, int(match[1]), int(match[2])), kind)
    if match := _COMPACT.match(text):
        return period_start(datetime.date(int(match[1]), int(match[2]), int(match[3])), kind)
    return period_start(datetime.date.fromisoformat(text[:10]), kind)


def parse_amount(text: str, limit: Decimal) -> Decimal:
    """1,234.50, $12, (3) for a credit of 3, -3."""
    cleaned = text.replace(",", "").replace("$", "").replace(" ", "")
    negative = cleaned.startswith("(") and cleaned.endswith(")")
    if negative:
        cleaned = cleaned[1:-1]
    value = Decimal(cleaned)
    if not value.is_finite() or abs(value) >= limit:
        raise InvalidOperation
    return -value if negative else value


@dataclass
class SalesRow:
    row: Row
    item_number: str = ""
    sku: str = ""
    description: str = ""
    ship_to_number: str = ""
    ship_to_name: str = ""
    period_start: datetime.date | None = None
    cases: Decimal = Decimal(0)
    dollars: Decimal | None = None
    currency: str | None = None
    product_id: int | None = None
    customer_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class SalesImporter:
    """Processes one sales import's rows, chunk by chunk, keeping the periods already replaced and the
    summary (the report's actions: create for a row summed into a fact, unmatched for one kept aside)."""

    def __init__(
        self,
        *,
        context: RequestContext,
        header: list[str],
        mapping: dict[int, str],
        options: dict[str, Any],
        import_id: int,
    ) -> None:
        self.context = context
        self.tenant_id = context.member_tenant_id
        self.import_id = import_id
        self.mapping = mapping
        self.header_of = {name: header[index] for index, name in mapping.items()}
        self.distributor_id = int(options["distributor"])
        self.period_kind = options.get("period_kind") or PeriodKind.WEEK
        self.currency = options.get("currency") or "USD"
        if options.get("save_mapping"):  # rolled back with the rest in a dry run or a failed import
            from sales.services import mapping_save

            mapping_save(
                context=context,
                distributor_id=self.distributor_id,
                mapping=options["save_mapping"],
                period_kind=self.period_kind,
            )
        self.matcher = Matcher(tenant_id=self.tenant_id, distributor_id=self.distributor_id)
        self.replaced: set[datetime.date] = set()
        self.currency_of: dict[tuple[int, int, datetime.date], str] = {}
        self.suggestions: dict[tuple[str, ...], list[dict[str, object]]] = {}
        self.summary: dict[str, Any] = dict.fromkeys(RowAction.values, 0)
        self.summary.update(replaced_facts=0, replaced_unmatched=0, periods=[])

    # --- one chunk -----------------------------------------------------------------------------------

    def process(self, numbered_rows: Iterable[tuple[int, list[str]]]) -> list[Row]:
        rows = [self._read(number, cells) for number, cells in numbered_rows]
        good = [row for row in rows if not row.row.errors]
        for row in good:
            row.product_id = self.matcher.product(item_number=row.item_number, sku=row.sku)
            row.customer_id = self.matcher.customer(
                ship_to_number=row.ship_to_number, ship_to_name=row.ship_to_name
            )
        facts = [row for row in good if row.product_id is not None and row.customer_id is not None]
        for row in facts:
            key = (row.product_id or 0, row.customer_id or 0, row.period_start or datetime.date.min)
            if row.dollars is not None:
                first = self.currency_of.setdefault(key, row.currency or "")
                if first != row.currency:
                    self._error(
                        row.row,
                        "currency",
                        f"{row.currency}, where earlier rows of this product, customer and period are in {first}.",
                    )
        facts = [row for row in facts if not row.row.errors]
        kept = [
            row for row in good if not row.row.errors and (row.product_id is None or row.customer_id is None)
        ]
        self._replace({row.period_start for row in (*facts, *kept) if row.period_start is not None})
        self._write_facts(facts)
        self._keep(kept)
        for item in rows:
            if item.row.errors:
                item.row.action = RowAction.ERROR
            self.summary[item.row.action] += 1
        return [item.row for item in rows]

    def _error(self, row: Row, name: str, message: str) -> None:
        row.errors.append((self.header_of.get(name, name), message))

    def _read(self, number: int, cells: list[str]) -> SalesRow:
        texts: dict[str, str] = {}
        for index, name in self.mapping.items():
            text = cells[index].strip() if index < len(cells) else ""
            if text:
                texts[name] = text
        row = Row(number, texts)
        sales = SalesRow(
            row,
            item_number=texts.get("item_number", "")[:64],
            sku=texts.get("sku", "")[:64],
            description=texts.get("description", "")[:200],
            ship_to_number=texts.get("ship_to_number", "")[:64],
            ship_to_name=texts.get("ship_to_name", "")[:200],
        )
        if "period" not in texts:
            self._error(row, "period", "This field is required.")
        else:
            try:
                sales.period_start = parse_period(texts["period"], self.period_kind)
            except ValueError as error:
                reason = (
                    str(error) if "given" in str(error) else "not a date (2026-03-02, 3/2/2026, 2026-W10)"
                )
                self._error(row, "period", f"{texts['period']!r}: {reason}.")
        if "cases" not in texts:
            self._error(row, "cases", "This field is required.")
        else:
            try:
                sales.cases = parse_amount(texts["cases"], CASES_LIMIT)
            except (InvalidOperation, ValueError):
                self._error(row, "cases", f"{texts['cases']!r} is not a number of cases.")
        if "dollars" in texts:
            try:
                sales.dollars = parse_amount(texts["dollars"], DOLLARS_LIMIT)
            except (InvalidOperation, ValueError):
                self._error(row, "dollars", f"{texts['dollars']!r} is not an amount.")
            currency = texts.get("currency", self.currency).upper()
            if currency not in _CURRENCIES:
                self._error(row, "currency", f"{currency!r} is not an ISO 4217 currency code.")
            sales.currency = currency
        if not (sales.item_number or sales.sku):
            self._error(row, "item_number", "No item number or SKU: the product cannot be recognised.")
        if not (sales.ship_to_number or sales.ship_to_name):
            self._error(
                row, "ship_to_number", "No ship-to number or name: the customer cannot be recognised."
            )
        return sales

    # --- writes ------------------------------------------------------------------------------------------

    def _replace(self, periods: set[datetime.date]) -> None:
        """The distributor's facts and kept rows of periods the file holds, deleted the first time the
        file shows each (as far as the importer reaches: RLS keeps other books' facts)."""
        new = sorted(periods - self.replaced)
        if not new:
            return
        self.replaced.update(new)
        self.summary["periods"] = sorted(str(day) for day in self.replaced)
        params = [self.tenant_id, self.distributor_id, self.period_kind, new]
        where = (
            "tenant_id = %s AND distributor_id = %s AND period_kind = %s AND period_start = ANY(%s::date[])"
        )
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM sales_fact WHERE {where}", params)  # noqa: S608 - constant SQL
            self.summary["replaced_facts"] += cursor.rowcount
            cursor.execute(f"DELETE FROM sales_unmatched WHERE {where}", params)  # noqa: S608
            self.summary["replaced_unmatched"] += cursor.rowcount

    def _write_facts(self, rows: list[SalesRow]) -> None:
        if not rows:
            return
        totals: dict[tuple[int, int, datetime.date], list[Any]] = {}
        for row in rows:
            key = (row.product_id or 0, row.customer_id or 0, row.period_start or datetime.date.min)
            total = totals.get(key)
            if total is None:
                totals[key] = [row.cases, row.dollars, row.currency, row.row.number]
            else:
                total[0] += row.cases
                if row.dollars is not None:
                    total[1] = (total[1] or Decimal(0)) + row.dollars
                    total[2] = row.currency
        keys = list(totals)
        ids = fact_upsert(
            tenant_id=self.tenant_id,
            distributor_id=self.distributor_id,
            period_kind=self.period_kind,
            facts=[(*key, *totals[key][:3], self.import_id, totals[key][3]) for key in keys],
        )
        id_of = dict(zip(keys, ids, strict=True))
        for row in rows:
            row.row.action = RowAction.CREATE
            row.row.record_id = id_of[
                (row.product_id or 0, row.customer_id or 0, row.period_start or datetime.date.min)
            ]

    def _keep(self, rows: list[SalesRow]) -> None:
        if not rows:
            return
        records = []
        for row in rows:
            records.append(
                SalesUnmatched(
                    tenant_id=self.tenant_id,
                    created_by_id=self.context.member_user_id,
                    source_import_id=self.import_id,
                    source_row=row.row.number,
                    distributor_id=self.distributor_id,
                    product_id=row.product_id,
                    customer_id=row.customer_id,
                    item_number=row.item_number,
                    sku=row.sku,
                    description=row.description,
                    ship_to_number=row.ship_to_number,
                    ship_to_name=row.ship_to_name,
                    period_kind=self.period_kind,
                    period_start=row.period_start or datetime.date.min,  # set: rows in error are not kept
                    cases=row.cases,
                    dollars=row.dollars,
                    currency=row.currency,
                    suggestions=self._suggestions(row),
                )
            )
        SalesUnmatched.objects.bulk_create(records, batch_size=1000)
        for row, record in zip(rows, records, strict=True):
            row.row.action = RowAction.UNMATCHED
            row.row.record_id = record.pk

    def _suggestions(self, row: SalesRow) -> dict[str, Any]:
        """Computed once per distinct raw product and customer of the file."""
        found: dict[str, Any] = {}
        if row.product_id is None:
            product_key = ("product", row.item_number, row.sku, row.description)
            if product_key not in self.suggestions:
                self.suggestions[product_key] = self.matcher.products.suggest(row.description, row.sku)
            found["products"] = self.suggestions[product_key]
        if row.customer_id is None:
            key = ("customer", row.ship_to_name)
            if key not in self.suggestions:
                self.suggestions[key] = self.matcher.customers.suggest(row.ship_to_name)
            found["customers"] = self.suggestions[key]
        return found


def fact_upsert(
    *,
    tenant_id: int,
    distributor_id: int,
    period_kind: str,
    facts: list[tuple[Any, ...]],
) -> list[int]:
    """Facts (product, customer, period_start, cases, dollars, currency, source import, source row) of one
    distributor, in one statement: a fact already there for the key is added to (later rows of a file, a
    confirmed kept row). Returns the ids in the order given."""
    if not facts:
        return []
    columns = list(zip(*facts, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO sales_fact AS f (tenant_id, distributor_id, period_kind, product_id, customer_id,
                                         period_start, cases, dollars, currency, source_import_id, source_row)
            SELECT %s, %s, %s, t.* FROM unnest(%s::bigint[], %s::bigint[], %s::date[], %s::numeric[],
                                               %s::numeric[], %s::varchar[], %s::bigint[], %s::int[]) AS t
            ON CONFLICT (tenant_id, distributor_id, period_kind, period_start, product_id, customer_id)
            DO UPDATE SET cases = f.cases + EXCLUDED.cases,
                          dollars = CASE WHEN f.dollars IS NULL AND EXCLUDED.dollars IS NULL THEN NULL
                                         ELSE coalesce(f.dollars, 0) + coalesce(EXCLUDED.dollars, 0) END,
                          currency = coalesce(f.currency, EXCLUDED.currency)
            RETURNING f.id
            """,
            [tenant_id, distributor_id, period_kind, *(list(column) for column in columns)],
        )
        return [pk for (pk,) in cursor.fetchall()]
