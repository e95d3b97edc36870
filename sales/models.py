"""Distributor sales (depletions): facts per distributor × product × customer × period, the rows of a
file not yet matched, the customer aliases learned from confirmations, and each distributor's saved
column mapping (ADR 0034).

Not business records (no soft delete, no history of their own): a fact is bulk data whose provenance is
its source import and row; a period re-imported replaces the distributor's facts for that period."""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models.expressions import RawSQL
from django.db.models.functions import Now

from crm.models import Tenant
from sales.currencies import ISO_4217


class PeriodKind(models.TextChoices):
    WEEK = "week", "Week (starting Monday)"
    MONTH = "month", "Month"


class AliasKind(models.TextChoices):
    SHIP_TO_NUMBER = "ship_to_number", "Ship-to number"
    SHIP_TO_NAME = "ship_to_name", "Ship-to name"


# The fields a sales file's columns map onto (imports.columns KINDS["sales"] holds their header synonyms).
SALES_FIELDS = (
    "item_number",
    "sku",
    "description",
    "ship_to_number",
    "ship_to_name",
    "period",
    "cases",
    "dollars",
    "currency",
)


def _reference_check(
    table: str, *, product_required: bool, customer_required: bool, keys_fixed: bool
) -> pgtrigger.Trigger:
    """BEFORE INSERT/UPDATE: the references are live rows of the row's firm that the writer sees (run as
    the writer, under RLS: a row out of reach reads as missing), of the right type, and the principal is
    the product's (the row's scope key, kept here). `keys_fixed`: a fact's identity never changes."""
    fixed = ""
    if keys_fixed:
        fixed = """
        IF TG_OP = 'UPDATE' THEN
            IF (NEW.tenant_id, NEW.distributor_id, NEW.product_id, NEW.customer_id, NEW.period_kind,
                NEW.period_start, NEW.principal_id)
               IS DISTINCT FROM (OLD.tenant_id, OLD.distributor_id, OLD.product_id, OLD.customer_id,
                OLD.period_kind, OLD.period_start, OLD.principal_id) THEN
                RAISE EXCEPTION 'a sales fact''s distributor, product, customer and period cannot change'
                    USING ERRCODE = 'check_violation', TABLE = TG_TABLE_NAME;
            END IF;
            RETURN NEW;
        END IF;"""
    else:
        fixed = """
        IF TG_OP = 'UPDATE' AND NEW.tenant_id IS DISTINCT FROM OLD.tenant_id THEN
            RAISE EXCEPTION 'tenant cannot change once set'
                USING ERRCODE = 'check_violation', COLUMN = 'tenant_id', TABLE = TG_TABLE_NAME;
        END IF;"""

    def changed(column: str) -> str:
        return f"(TG_OP = 'INSERT' OR NEW.{column} IS DISTINCT FROM OLD.{column})"

    def missing(column: str) -> str:
        field = column.removesuffix("_id")
        return f"""
            IF NOT FOUND THEN
                RAISE EXCEPTION '{field} % does not exist', NEW.{column}
                    USING ERRCODE = 'foreign_key_violation', COLUMN = '{column}', TABLE = TG_TABLE_NAME;
            END IF;"""

    product = f"""
        IF NEW.product_id IS NULL THEN
            NEW.principal_id := NULL;
        ELSIF {changed("product_id")} OR NEW.principal_id IS DISTINCT FROM OLD.principal_id THEN
            SELECT principal_id INTO ref FROM product
             WHERE id = NEW.product_id AND tenant_id = NEW.tenant_id AND deleted_at IS NULL;{missing("product_id")}
            NEW.principal_id := ref.principal_id;
        END IF;"""  # noqa: S608 - PL/pgSQL of constant names
    distributor = f"""
        IF NEW.distributor_id IS NOT NULL AND {changed("distributor_id")} THEN
            PERFORM FROM organization WHERE id = NEW.distributor_id AND tenant_id = NEW.tenant_id
               AND deleted_at IS NULL AND type = 'distributor';{missing("distributor_id")}
        END IF;"""
    customer = f"""
        IF NEW.customer_id IS NOT NULL AND {changed("customer_id")} THEN
            PERFORM FROM organization WHERE id = NEW.customer_id AND tenant_id = NEW.tenant_id
               AND deleted_at IS NULL AND type IN ('customer', 'prospect');{missing("customer_id")}
        END IF;"""
    del product_required, customer_required  # NOT NULL columns say it
    return pgtrigger.Trigger(
        name="check_references",
        operation=pgtrigger.Insert | pgtrigger.Update,
        when=pgtrigger.Before,
        declare=[("ref", "record")],
        func=f"{fixed}{product}{distributor}{customer}\n        RETURN NEW;",
    )


def _distributor_check(*, customer: bool) -> pgtrigger.Trigger:
    """BEFORE INSERT/UPDATE of an alias or a mapping: a visible live distributor (and customer) of the
    firm, as the writer sees them."""
    customer_check = ""
    if customer:
        customer_check = """
        NEW.value_key := crm_name_key(NEW.value);
        IF TG_OP = 'INSERT' OR NEW.customer_id IS DISTINCT FROM OLD.customer_id THEN
            PERFORM FROM organization WHERE id = NEW.customer_id AND tenant_id = NEW.tenant_id
               AND deleted_at IS NULL AND type IN ('customer', 'prospect');
            IF NOT FOUND THEN
                RAISE EXCEPTION 'customer % does not exist', NEW.customer_id
                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'customer_id', TABLE = TG_TABLE_NAME;
            END IF;
        END IF;"""
    return pgtrigger.Trigger(
        name="check_references",
        operation=pgtrigger.Insert | pgtrigger.Update,
        when=pgtrigger.Before,
        func=f"""
        IF TG_OP = 'UPDATE' AND NEW.tenant_id IS DISTINCT FROM OLD.tenant_id THEN
            RAISE EXCEPTION 'tenant cannot change once set'
                USING ERRCODE = 'check_violation', COLUMN = 'tenant_id', TABLE = TG_TABLE_NAME;
        END IF;
        IF TG_OP = 'INSERT' OR NEW.distributor_id IS DISTINCT FROM OLD.distributor_id THEN
            PERFORM FROM organization WHERE id = NEW.distributor_id AND tenant_id = NEW.tenant_id
               AND deleted_at IS NULL AND type = 'distributor';
            IF NOT FOUND THEN
                RAISE EXCEPTION 'distributor % does not exist', NEW.distributor_id
                    USING ERRCODE = 'foreign_key_violation', COLUMN = 'distributor_id', TABLE = TG_TABLE_NAME;
            END IF;
        END IF;{customer_check}
        RETURN NEW;""",
    )


def _json_object(column: str) -> RawSQL:
    return RawSQL(f"jsonb_typeof({column}) = 'object'", [], output_field=models.BooleanField())  # noqa: S611 - a column name


# A saved mapping: {"Header": "field" | null, …}, every field one of a sales file's.
MAPPING_SHAPE = RawSQL(  # noqa: S611 - constant SQL
    "jsonb_typeof(mapping) = 'object' AND NOT jsonb_path_exists(mapping, "
    '\'strict $.* ? ((@.type() != "string" && @.type() != "null")'
    ' || (@.type() == "string" && !(@ like_regex "^(' + "|".join(SALES_FIELDS) + ")$\")))')",
    [],
    output_field=models.BooleanField(),
)


def _period_checks(table: str) -> list[models.BaseConstraint]:
    return [
        models.CheckConstraint(
            condition=models.Q(period_kind__in=PeriodKind.values), name=f"{table}_period_kind_valid"
        ),
        # A week starts on a Monday (ISO), a month on its 1st: one key per period, whatever date the file
        # gave for it.
        models.CheckConstraint(
            condition=(
                models.Q(period_kind=PeriodKind.WEEK, period_start__iso_week_day=1)
                | models.Q(period_kind=PeriodKind.MONTH, period_start__day=1)
            ),
            name=f"{table}_period_start_begins_its_period",
            violation_error_message="period_start must be a Monday for a week, the 1st for a month.",
        ),
        # Dollars come with their currency, or neither is given.
        models.CheckConstraint(
            condition=models.Q(dollars__isnull=True, currency__isnull=True)
            | models.Q(dollars__isnull=False, currency__isnull=False, currency__in=ISO_4217),
            name=f"{table}_dollars_with_currency",
            violation_error_message="dollars and currency (ISO 4217) are given together, or neither.",
        ),
    ]


class SalesFact(models.Model):
    """Cases (and dollars) a distributor sold of a product to a customer in a week or a month."""

    tenant = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, related_name="+", editable=False, db_index=False
    )
    distributor = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    product = models.ForeignKey(
        "products.Product", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    customer = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    # Kept by the database: the product's principal (the scope key).
    principal = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
        editable=False,
    )
    period_kind = models.CharField(max_length=8, choices=PeriodKind.choices)
    period_start = models.DateField()
    cases = models.DecimalField(
        max_digits=14, decimal_places=3, help_text="Negative for a period of net returns (credits)."
    )
    dollars = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, null=True, blank=True, help_text="ISO 4217, with dollars.")
    # Where the fact came from: import_run.id and the file's row (the header is row 1). Not a foreign
    # key: imports are never deleted, and the fact outlives nothing it would protect (ADR 0034).
    source_import_id = models.BigIntegerField(null=True, blank=True, editable=False)
    source_row = models.PositiveIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "sales_fact"
        ordering = ["-period_start", "id"]
        indexes = [
            # A principal's facts by period (reports, and a manager's book); a product's and a customer's.
            # Each leads with its foreign key (tests/ops: a referenced row's delete finds its referrers).
            models.Index(fields=["distributor", "period_start"], name="sales_fact_distributor"),
            models.Index(fields=["principal", "period_start"], name="sales_fact_principal"),
            models.Index(fields=["product", "period_start"], name="sales_fact_product"),
            models.Index(fields=["customer", "period_start"], name="sales_fact_customer"),
            # A firm's facts newest period first (the unfiltered list and its cursor pages).
            models.Index(fields=["tenant", "period_start", "id"], name="sales_fact_tenant_period"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "distributor", "period_kind", "period_start", "product", "customer"],
                name="sales_fact_unique_per_period",
                violation_error_message="This distributor already has a fact for this product, customer and period.",
            ),
            *_period_checks("sales_fact"),
        ]
        triggers = [
            _reference_check("sales_fact", product_required=True, customer_required=True, keys_fixed=True)
        ]

    def __str__(self) -> str:
        return f"{self.cases} cases, {self.period_kind} of {self.period_start}"


class SalesUnmatched(models.Model):
    """A row of a sales file whose product or customer was not recognised, kept with its raw values and
    suggestions until a person confirms a match (it then becomes a fact, and the match is learned)."""

    tenant = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, related_name="+", editable=False, db_index=False
    )
    # The importer: with no product recognised the row has no principal, and only they and admins see it.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False, db_index=False
    )
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    source_import_id = models.BigIntegerField(null=True, blank=True, editable=False)
    source_row = models.PositiveIntegerField(null=True, blank=True, editable=False)
    distributor = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    # What was recognised, if anything (never both: that row would be a fact).
    product = models.ForeignKey(
        "products.Product",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
        null=True,
        blank=True,
    )
    customer = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
        null=True,
        blank=True,
    )
    # Kept by the database: the product's principal, or NULL.
    principal = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
        null=True,
        blank=True,
        editable=False,
    )
    # The raw values, as the file gave them.
    item_number = models.CharField(max_length=64, blank=True)
    sku = models.CharField(max_length=64, blank=True)
    description = models.CharField(max_length=200, blank=True)
    ship_to_number = models.CharField(max_length=64, blank=True)
    ship_to_name = models.CharField(max_length=200, blank=True)
    period_kind = models.CharField(max_length=8, choices=PeriodKind.choices)
    period_start = models.DateField()
    cases = models.DecimalField(max_digits=14, decimal_places=3)
    dollars = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, null=True, blank=True)
    # {"products": [{"id", "name", "score"}…], "customers": [{"id", "name", "score"}…]}: the best
    # candidates by name similarity, computed at import.
    suggestions = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "sales_unmatched"
        verbose_name = "kept sales row"
        verbose_name_plural = "kept sales rows"
        ordering = ["id"]
        indexes = [
            models.Index(fields=["distributor", "period_start"], name="sales_unmatched_period"),
            models.Index(fields=["principal", "id"], name="sales_unmatched_principal"),
            models.Index(fields=["product"], name="sales_unmatched_product"),
            models.Index(fields=["customer"], name="sales_unmatched_customer"),
            models.Index(fields=["tenant", "id"], name="sales_unmatched_tenant"),
            models.Index(fields=["created_by"], name="sales_unmatched_created_by"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(product__isnull=True) | models.Q(customer__isnull=True),
                name="sales_unmatched_not_matched",
                violation_error_message="A row with both a product and a customer is a fact, not unmatched.",
            ),
            models.CheckConstraint(
                condition=models.Q(product__isnull=False) | ~models.Q(item_number="") | ~models.Q(sku=""),
                name="sales_unmatched_names_a_product",
            ),
            models.CheckConstraint(
                condition=models.Q(customer__isnull=False)
                | ~models.Q(ship_to_number="")
                | ~models.Q(ship_to_name=""),
                name="sales_unmatched_names_a_customer",
            ),
            models.CheckConstraint(
                condition=_json_object("suggestions"), name="sales_unmatched_suggestions_object"
            ),
            *_period_checks("sales_unmatched"),
        ]
        triggers = [
            _reference_check(
                "sales_unmatched", product_required=False, customer_required=False, keys_fixed=False
            )
        ]

    def __str__(self) -> str:
        return f"{self.item_number or self.sku} → {self.ship_to_number or self.ship_to_name}"


class CustomerAlias(models.Model):
    """A distributor's name for one of the firm's customers: a ship-to number or a ship-to name, learned
    when a person confirms a match (or entered directly)."""

    tenant = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, related_name="+", editable=False, db_index=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        db_index=False,
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    distributor = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    kind = models.CharField(max_length=16, choices=AliasKind.choices)
    value = models.CharField(
        max_length=200, help_text="The ship-to number or name as the distributor writes it."
    )
    # Kept by the database: crm_name_key(value), what the alias is compared by (case, width, spacing).
    value_key = models.CharField(max_length=400, editable=False, default="")
    customer = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        db_table = "sales_customer_alias"
        verbose_name_plural = "customer aliases"
        ordering = ["id"]
        indexes = [
            models.Index(fields=["customer"], name="sales_customer_alias_customer"),
            models.Index(fields=["distributor"], name="sales_customer_alias_distrib"),
            models.Index(fields=["created_by"], name="sales_customer_alias_author"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=AliasKind.values), name="sales_alias_kind_valid"
            ),
            models.CheckConstraint(condition=~models.Q(value=""), name="sales_alias_value_not_blank"),
            models.UniqueConstraint(
                fields=["tenant", "distributor", "kind", "value_key"],
                name="sales_alias_unique_per_distributor",
                violation_error_message="This distributor already has this alias.",
            ),
        ]
        triggers = [_distributor_check(customer=True)]

    def __str__(self) -> str:
        return f"{self.value} → {self.customer_id}"


class ColumnMapping(models.Model):
    """A distributor's file layout: header as written → sales field (or null: ignore the column), and
    whether its periods are weeks or months. Saved by an import given a mapping, reused by later ones."""

    tenant = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, related_name="+", editable=False, db_index=False
    )
    distributor = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    mapping = models.JSONField(default=dict)
    period_kind = models.CharField(max_length=8, choices=PeriodKind.choices, default=PeriodKind.WEEK)
    updated_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        db_index=False,
        null=True,
        blank=True,
    )

    class Meta:
        db_table = "sales_column_mapping"
        ordering = ["id"]
        indexes = [
            models.Index(fields=["distributor"], name="sales_column_mapping_distrib"),
            models.Index(fields=["updated_by"], name="sales_column_mapping_author"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "distributor"],
                name="sales_column_mapping_one_per_distributor",
                violation_error_message="This distributor already has a saved mapping.",
            ),
            models.CheckConstraint(
                condition=models.Q(period_kind__in=PeriodKind.values), name="sales_column_mapping_period_kind"
            ),
            models.CheckConstraint(
                condition=MAPPING_SHAPE,
                name="sales_column_mapping_shape",
                violation_error_message="mapping is an object of header → sales field (or null).",
            ),
        ]
        triggers = [_distributor_check(customer=False)]

    def __str__(self) -> str:
        return f"mapping of {self.distributor_id}"
