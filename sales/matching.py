"""Recognising a sales row's product and customer: indexes of what the importer sees, read once an import
(products by the distributor's item number and by SKU, customers by alias and by folded name), and the
best candidates by name similarity for what was not recognised (no database extension: an inverted index
of name words narrows the candidates, difflib ranks them)."""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from dataclasses import dataclass, field

from crm.text import name_key
from organizations.models import DistributorAuthorization, Organization
from products.models import Product, ProductDistributor
from sales.models import AliasKind, CustomerAlias

SUGGESTIONS = 3
# Words in this many candidates or more say nothing about which one is meant ("inc", "the", "grill").
_COMMON_WORD = 500
_WORD = re.compile(r"\w+")


def words(text: str) -> set[str]:
    return {word for word in _WORD.findall(name_key(text)) if len(word) > 1 or word.isdigit()}


@dataclass
class NameIndex:
    """Folded name → ids, and word → ids for suggestions."""

    names: dict[int, str] = field(default_factory=dict)
    by_key: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    by_word: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))

    def add(self, pk: int, name: str, *extra: str) -> None:
        self.names[pk] = name
        self.by_key[name_key(name)].add(pk)
        for text in (name, *extra):
            for word in words(text):
                self.by_word[word].add(pk)

    def suggest(self, *texts: str) -> list[dict[str, object]]:
        """The best few candidates for `texts` (a name, a description, a code), by similarity."""
        wanted = {word for text in texts if text for word in words(text)}
        counts: dict[int, int] = defaultdict(int)
        for word in wanted:
            ids = self.by_word.get(word, ())
            if len(ids) < _COMMON_WORD:
                for pk in ids:
                    counts[pk] += 1
        if not counts:
            return []
        shortlist = sorted(counts, key=lambda pk: (-counts[pk], pk))[:50]
        probe = " ".join(name_key(text) for text in texts if text)
        scored = [
            (difflib.SequenceMatcher(None, probe, name_key(self.names[pk])).ratio(), pk) for pk in shortlist
        ]
        scored.sort(key=lambda item: (-item[0], item[1]))
        return [
            {"id": pk, "name": self.names[pk], "score": round(score, 3)} for score, pk in scored[:SUGGESTIONS]
        ]


class Matcher:
    """What one importer (under RLS) can match a distributor's rows against."""

    def __init__(self, *, tenant_id: int, distributor_id: int) -> None:
        self.tenant_id = tenant_id
        self.distributor_id = distributor_id
        self.by_item: dict[str, set[int]] = defaultdict(set)
        self.by_sku: dict[str, set[int]] = defaultdict(set)
        self.principal_of: dict[int, int] = {}
        self.products = NameIndex()
        live = {"tenant_id": tenant_id, "deleted_at__isnull": True}
        for pk, name, sku, principal_id in Product.objects.filter(**live).values_list(
            "pk", "name", "sku", "principal_id"
        ):
            self.principal_of[pk] = principal_id
            self.by_sku[name_key(sku)].add(pk)
            self.products.add(pk, f"{name} ({sku})", sku)
        items = ProductDistributor.objects.filter(**live, distributor_id=distributor_id).exclude(
            vendor_item_number=""
        )
        for product_id, item in items.values_list("product_id", "vendor_item_number"):
            if product_id in self.principal_of:
                self.by_item[name_key(item)].add(product_id)
        self.authorized = set(
            DistributorAuthorization.objects.filter(**live, distributor_id=distributor_id).values_list(
                "principal_id", flat=True
            )
        )
        self.aliases: dict[tuple[str, str], int] = {}
        for kind, value, customer_id in CustomerAlias.objects.filter(
            tenant_id=tenant_id, distributor_id=distributor_id
        ).values_list("kind", "value", "customer_id"):
            self.aliases[(kind, name_key(value))] = customer_id
        self.customers = NameIndex()
        accounts = Organization.objects.filter(**live, type__in=("customer", "prospect"))
        for pk, name in accounts.values_list("pk", "name").iterator(chunk_size=10_000):
            self.customers.add(pk, name)

    def product(self, *, item_number: str, sku: str) -> int | None:
        """By the distributor's item number, else by the principal's SKU; one candidate or none (an SKU
        shared by two principals' products is settled by which principal the distributor carries)."""
        if item_number:
            found = self.by_item.get(name_key(item_number), set())
            if len(found) == 1:
                return next(iter(found))
        if sku:
            found = self.by_sku.get(name_key(sku), set())
            if len(found) > 1:
                found = {pk for pk in found if self.principal_of[pk] in self.authorized}
            if len(found) == 1:
                return next(iter(found))
        return None

    def customer(self, *, ship_to_number: str, ship_to_name: str) -> int | None:
        """By a saved alias (number first), else by the folded name when exactly one account has it."""
        if ship_to_number:
            found = self.aliases.get((AliasKind.SHIP_TO_NUMBER, name_key(ship_to_number)))
            if found is not None:
                return found
        if ship_to_name:
            found = self.aliases.get((AliasKind.SHIP_TO_NAME, name_key(ship_to_name)))
            if found is not None:
                return found
            named = self.customers.by_key.get(name_key(ship_to_name), set())
            if len(named) == 1:
                return next(iter(named))
        return None
