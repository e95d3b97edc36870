"""Writes of the sales app: a sales import's options (the distributor and its saved mapping), saved
mappings, and confirming a kept row's match (the alias or item number learned, every kept row with the
same raw key applied, and those with both a product and a customer turned into facts)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from rest_framework.exceptions import ValidationError

from crm.rls import RequestContext
from crm.text import name_key
from organizations.models import Organization, OrganizationType
from products.models import Product, ProductDistributor
from sales.importing import fact_upsert
from sales.models import SALES_FIELDS, AliasKind, ColumnMapping, CustomerAlias, PeriodKind, SalesUnmatched


def _visible_distributor(context: RequestContext, distributor_id: int) -> None:
    found = Organization.objects.filter(
        pk=distributor_id,
        tenant_id=context.member_tenant_id,
        type=OrganizationType.DISTRIBUTOR,
        deleted_at__isnull=True,
    ).exists()
    if not found:
        raise ValidationError({"distributor": [f"No distributor {distributor_id} that you can see."]})


def sales_import_options(
    *,
    context: RequestContext,
    distributor_id: int,
    mapping: Mapping[str, str | None],
    period_kind: str = "",
    currency: str = "",
) -> tuple[dict[str, str | None], dict[str, Any]]:
    """The mapping a sales import uses (the one given, to be saved by the import; else the distributor's
    saved one) and its options. ValidationError for a distributor the importer cannot see, or a mapping
    naming a field a sales file does not have."""
    _visible_distributor(context, distributor_id)
    given = dict(mapping)
    saved = ColumnMapping.objects.filter(
        tenant_id=context.member_tenant_id, distributor_id=distributor_id
    ).first()
    if given:
        unknown = sorted({field for field in given.values() if field and field not in SALES_FIELDS})
        if unknown:
            raise ValidationError(
                {
                    "mapping": [
                        f"Not fields of a sales file: {', '.join(unknown)}; fields: {', '.join(SALES_FIELDS)}."
                    ]
                }
            )
    used = given or (dict(saved.mapping) if saved is not None else {})
    kind = period_kind or (saved.period_kind if saved is not None else PeriodKind.WEEK)
    options = {
        "distributor": distributor_id,
        "period_kind": kind,
        "currency": (currency or "USD").upper(),
        # A mapping given is saved by the import that used it (a real run: a dry run saves nothing).
        "save_mapping": given or None,
    }
    return used, options


def mapping_save(
    *, context: RequestContext, distributor_id: int, mapping: Mapping[str, str | None], period_kind: str
) -> ColumnMapping:
    """The distributor's saved mapping, created or replaced."""
    record, _ = ColumnMapping.objects.update_or_create(
        tenant_id=context.member_tenant_id,
        distributor_id=distributor_id,
        defaults={
            "mapping": dict(mapping),
            "period_kind": period_kind,
            "updated_by_id": context.member_user_id,
        },
    )
    return record


def alias_key(row: SalesUnmatched) -> tuple[str, str] | None:
    """The alias a kept row's customer is learned under: its ship-to number, else its ship-to name."""
    if row.ship_to_number:
        return AliasKind.SHIP_TO_NUMBER, row.ship_to_number
    if row.ship_to_name:
        return AliasKind.SHIP_TO_NAME, row.ship_to_name
    return None


@dataclass
class Confirmed:
    alias: CustomerAlias | None
    item: ProductDistributor | None
    rows_matched: int  # kept rows given the confirmed product or customer
    facts: list[int]  # the facts those rows became (or were added to)


def unmatched_confirm(
    *,
    context: RequestContext,
    unmatched: SalesUnmatched,
    customer_id: int | None = None,
    product_id: int | None = None,
) -> Confirmed:
    """A person says which customer and/or product a kept row is. The customer is learned as the
    distributor's alias for the row's ship-to number (or name), the product as the distributor's item
    number for it (when the row has one and the product has none for that distributor); every kept row
    of the distributor with the same raw key gets it; rows that then have both become facts."""
    if customer_id is None and product_id is None:
        raise ValidationError({"customer": ["Give the customer, the product, or both."]})
    if customer_id is not None and unmatched.customer_id is not None and customer_id != unmatched.customer_id:
        raise ValidationError({"customer": ["This row's customer was already recognised."]})
    if product_id is not None and unmatched.product_id is not None and product_id != unmatched.product_id:
        raise ValidationError({"product": ["This row's product was already recognised."]})
    tenant_id = context.member_tenant_id
    distributor_id = unmatched.distributor_id
    kept = SalesUnmatched.objects.filter(tenant_id=tenant_id, distributor_id=distributor_id)
    alias = item = None
    # Kept row → its new (product, customer); complete ones become facts, the others are updated.
    changes: dict[int, list[Any]] = {}
    with transaction.atomic():
        rows = {row.pk: row for row in kept.select_for_update()}
        if customer_id is not None and unmatched.customer_id is None:
            _check(Organization, customer_id, context, "customer", type__in=("customer", "prospect"))
            key = alias_key(unmatched)
            assert (
                key is not None
            )  # a kept row without a customer names one (sales_unmatched_names_a_customer)
            kind, value = key
            alias = _alias_learn(context, distributor_id, kind, value, customer_id)
            for row in rows.values():
                if row.customer_id is None and alias_key(row) is not None:
                    row_kind, row_value = alias_key(row) or ("", "")
                    if row_kind == kind and name_key(row_value) == name_key(value):
                        changes.setdefault(row.pk, [row.product_id, row.customer_id])[1] = customer_id
        if product_id is not None and unmatched.product_id is None:
            _check(Product, product_id, context, "product")
            item = _item_learn(context, distributor_id, unmatched.item_number, product_id)
            for row in rows.values():
                if row.product_id is not None:
                    continue
                if unmatched.item_number:
                    same = bool(row.item_number) and name_key(row.item_number) == name_key(
                        unmatched.item_number
                    )
                else:
                    same = not row.item_number and name_key(row.sku) == name_key(unmatched.sku)
                if same:
                    changes.setdefault(row.pk, [row.product_id, row.customer_id])[0] = product_id
        complete = []
        partial: dict[tuple[Any, Any], list[int]] = {}  # (product, customer) → kept rows still missing one
        for pk, (new_product, new_customer) in changes.items():
            row = rows[pk]
            if new_product is not None and new_customer is not None:
                row.product_id, row.customer_id = new_product, new_customer
                complete.append(row)
            else:
                partial.setdefault((new_product, new_customer), []).append(pk)
        for (new_product, new_customer), pks in partial.items():  # one UPDATE per pair, not per row
            kept.filter(pk__in=pks).update(product_id=new_product, customer_id=new_customer)
        facts = _apply(tenant_id, distributor_id, complete)
    return Confirmed(alias=alias, item=item, rows_matched=len(changes), facts=facts)


def _check(model: Any, pk: int, context: RequestContext, name: str, **conditions: Any) -> None:
    if not model.objects.filter(
        pk=pk, tenant_id=context.member_tenant_id, deleted_at__isnull=True, **conditions
    ).exists():
        raise ValidationError({name: [f'Invalid pk "{pk}" - object does not exist.']})


def _alias_learn(
    context: RequestContext, distributor_id: int, kind: str, value: str, customer_id: int
) -> CustomerAlias:
    existing = CustomerAlias.objects.filter(
        tenant_id=context.member_tenant_id,
        distributor_id=distributor_id,
        kind=kind,
        value_key=name_key(value),  # crm_name_key's Python mirror (tests/integrity/test_names.py)
    ).first()
    if existing is not None:
        if existing.customer_id != customer_id:
            existing.customer_id = customer_id
            existing.save(update_fields=["customer"])
        return existing
    return CustomerAlias.objects.create(
        tenant_id=context.member_tenant_id,
        created_by_id=context.member_user_id,
        distributor_id=distributor_id,
        kind=kind,
        value=value[:200],
        customer_id=customer_id,
    )


def _item_learn(
    context: RequestContext, distributor_id: int, item_number: str, product_id: int
) -> ProductDistributor | None:
    """The distributor's item number for the product, when the row had one and the product has no live
    item code for that distributor yet (an existing one is left as it is)."""
    if not item_number:
        return None
    live = ProductDistributor.objects.filter(
        tenant_id=context.member_tenant_id,
        product_id=product_id,
        distributor_id=distributor_id,
        deleted_at__isnull=True,
    )
    if live.exists():
        return None
    return ProductDistributor.objects.create(
        tenant_id=context.member_tenant_id,
        product_id=product_id,
        distributor_id=distributor_id,
        vendor_item_number=item_number[:64],
    )


def _apply(tenant_id: int, distributor_id: int, ready: list[SalesUnmatched]) -> list[int]:
    """Kept rows that now have a product and a customer, turned into facts (added to a fact of the same
    key) and removed."""
    facts: list[int] = []
    by_kind: dict[str, list[SalesUnmatched]] = {}
    for row in ready:
        by_kind.setdefault(row.period_kind, []).append(row)
    for period_kind, rows in by_kind.items():
        totals: dict[tuple[Any, ...], list[Any]] = {}
        for row in rows:
            key = (row.product_id, row.customer_id, row.period_start)
            total = totals.setdefault(key, [0, None, None, row.source_import_id, row.source_row])
            total[0] += row.cases
            if row.dollars is not None:
                total[1] = (total[1] or 0) + row.dollars
                total[2] = row.currency
        facts += fact_upsert(
            tenant_id=tenant_id,
            distributor_id=distributor_id,
            period_kind=period_kind,
            facts=[(*key, *total) for key, total in totals.items()],
        )
    SalesUnmatched.objects.filter(pk__in=[row.pk for row in ready]).delete()
    return facts
