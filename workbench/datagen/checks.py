"""Integrity checks for generated firms: what the bypassed triggers and foreign keys would have refused.

Rows are copied with triggers off (foreign keys are triggers too), so after the load every rule they
keep is checked here in SQL, over the generated tenants only. Each check counts violations: all must
be 0. CHECK constraints and unique indexes need no check: they held during the copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import ForeignKey, Model

from contacts.models import Contact
from crm.models import PrincipalAssignment, Tenant, TenantModel, User
from interactions.models import Interaction
from opportunities.models import Opportunity, OpportunityContact, OpportunityProduct
from organizations.models import (
    CustomerDistributor,
    DistributorAuthorization,
    Organization,
)
from products.models import Product, ProductDistributor
from samples.models import Sample, SampleLine

GENERATED_MODELS: tuple[type[TenantModel], ...] = (
    Organization,
    PrincipalAssignment,
    DistributorAuthorization,
    CustomerDistributor,
    Contact,
    Product,
    ProductDistributor,
    Opportunity,
    OpportunityProduct,
    OpportunityContact,
    Interaction,
    Sample,
    SampleLine,
)

# (table, column, organization types it may point at): the type rules of the reference triggers.
TYPED_REFERENCES = (
    ("distributor_authorization", "distributor_id", ("distributor",)),
    ("distributor_authorization", "principal_id", ("principal",)),
    ("customer_distributor", "customer_id", ("customer", "prospect")),
    ("customer_distributor", "distributor_id", ("distributor",)),
    ("principal_assignment", "principal_id", ("principal",)),
    ("product", "principal_id", ("principal",)),
    ("product_distributor", "distributor_id", ("distributor",)),
    ("opportunity", "principal_id", ("principal",)),
    ("opportunity", "customer_id", ("customer", "prospect")),
    ("opportunity", "distributor_id", ("distributor",)),
    ("interaction", "principal_id", ("principal",)),
)

T = "%(tenants)s"  # the generated tenants' ids, a parameter

# The cross-row rules of the triggers (and what realistic data needs), one count of violations each.
RULES: tuple[tuple[str, str], ...] = (
    (
        "organization: scope key is its own id exactly for principals",
        "SELECT count(*) FROM organization WHERE tenant_id = ANY(%(tenants)s)"
        " AND scope_principal_id IS DISTINCT FROM CASE WHEN type = 'principal' THEN id END",
    ),
    (
        "organization: a chain stays among principals or among shared accounts",
        "SELECT count(*) FROM organization o JOIN organization p ON p.id = o.parent_id"
        " WHERE o.tenant_id = ANY(%(tenants)s) AND (p.type = 'principal') <> (o.type = 'principal')",
    ),
    (
        "contact: scope key is its organization's",
        "SELECT count(*) FROM contact c JOIN organization o ON o.id = c.organization_id"
        " WHERE c.tenant_id = ANY(%(tenants)s) AND c.scope_principal_id IS DISTINCT FROM o.scope_principal_id",
    ),
    (
        "contact: reports to a colleague at the same organization",
        "SELECT count(*) FROM contact c JOIN contact b ON b.id = c.reports_to_id"
        " WHERE c.tenant_id = ANY(%(tenants)s) AND (b.organization_id <> c.organization_id OR b.id = c.id)",
    ),
    (
        "product_distributor: scope key is the product's principal",
        "SELECT count(*) FROM product_distributor pd JOIN product p ON p.id = pd.product_id"
        " WHERE pd.tenant_id = ANY(%(tenants)s) AND pd.scope_principal_id IS DISTINCT FROM p.principal_id",
    ),
    (
        "opportunity_product: scope key and product belong to the opportunity's principal",
        "SELECT count(*) FROM opportunity_product op JOIN opportunity o ON o.id = op.opportunity_id"
        " JOIN product p ON p.id = op.product_id WHERE op.tenant_id = ANY(%(tenants)s)"
        " AND (op.scope_principal_id IS DISTINCT FROM o.principal_id OR p.principal_id <> o.principal_id)",
    ),
    (
        "opportunity_contact: scope key is the opportunity's; contact shared or at that principal",
        "SELECT count(*) FROM opportunity_contact oc JOIN opportunity o ON o.id = oc.opportunity_id"
        " JOIN contact c ON c.id = oc.contact_id WHERE oc.tenant_id = ANY(%(tenants)s)"
        " AND (oc.scope_principal_id IS DISTINCT FROM o.principal_id"
        "      OR (c.scope_principal_id IS NOT NULL AND c.scope_principal_id <> o.principal_id))",
    ),
    (
        "opportunity: closed ones dated with a reason, open ones undated, stage date kept",
        "SELECT count(*) FROM opportunity WHERE tenant_id = ANY(%(tenants)s) AND (stage_changed_at IS NULL"
        " OR (stage IN ('closed_won', 'closed_lost')) <> (closed_on IS NOT NULL)"
        " OR (stage = 'closed_won' AND win_reason = '') OR (stage = 'closed_lost' AND loss_reason = ''))",
    ),
    (
        "interaction: the contact works at the interaction's organization",
        "SELECT count(*) FROM interaction i JOIN contact c ON c.id = i.contact_id"
        " WHERE i.tenant_id = ANY(%(tenants)s) AND c.organization_id <> i.organization_id",
    ),
    (
        "interaction: principal is the opportunity's principal",
        "SELECT count(*) FROM interaction i JOIN opportunity o ON o.id = i.opportunity_id"
        " WHERE i.tenant_id = ANY(%(tenants)s) AND i.principal_id IS DISTINCT FROM o.principal_id",
    ),
    (
        "interaction: logged at a principal, the principal is that organization",
        "SELECT count(*) FROM interaction i JOIN organization o ON o.id = i.organization_id"
        " WHERE i.tenant_id = ANY(%(tenants)s) AND o.scope_principal_id IS NOT NULL"
        " AND i.principal_id IS DISTINCT FROM o.scope_principal_id",
    ),
    (
        "sample: of a live sample interaction, scope key its principal, steps dated in order",
        "SELECT count(*) FROM sample s JOIN interaction i ON i.id = s.interaction_id"
        " WHERE s.tenant_id = ANY(%(tenants)s) AND (i.type <> 'sample' OR i.principal_id IS NULL"
        " OR s.scope_principal_id IS DISTINCT FROM i.principal_id OR i.deleted_at IS NOT NULL"
        " OR (s.status IN ('sent', 'delivered', 'feedback_received') AND s.sent_at IS NULL)"
        " OR (s.status IN ('delivered', 'feedback_received') AND s.delivered_at IS NULL)"
        " OR (s.status = 'feedback_received') <> (s.feedback_received_at IS NOT NULL)"
        " OR (s.status = 'cancelled') <> (s.cancelled_at IS NOT NULL))",
    ),
    (
        "sample_line: with its interaction's live sample, a product of its principal, scope key that principal",
        "SELECT count(*) FROM sample_line l JOIN interaction i ON i.id = l.interaction_id"
        " JOIN product p ON p.id = l.product_id WHERE l.tenant_id = ANY(%(tenants)s)"
        " AND (l.scope_principal_id IS DISTINCT FROM i.principal_id OR p.principal_id <> i.principal_id"
        "      OR NOT EXISTS (SELECT 1 FROM sample s WHERE s.interaction_id = l.interaction_id"
        "                     AND s.deleted_at IS NULL))",
    ),
    (
        "customer_distributor: every customer and prospect has exactly one primary distributor",
        "SELECT count(*) FROM organization o WHERE o.tenant_id = ANY(%(tenants)s) AND o.type IN ('customer', 'prospect')"
        " AND (SELECT count(*) FROM customer_distributor cd"
        "      WHERE cd.customer_id = o.id AND cd.is_primary AND cd.deleted_at IS NULL) <> 1",
    ),
)


def typed_reference_sql(table: str, column: str, types: Sequence[str]) -> str:
    allowed = ", ".join(f"'{t}'" for t in types)
    return (
        f"SELECT count(*) FROM {table} r JOIN organization o ON o.id = r.{column}"  # noqa: S608
        f" WHERE r.tenant_id = ANY({T}) AND o.type NOT IN ({allowed})"
    )


def references_sql(model: type[Model]) -> tuple[list[str], str]:
    """One scan of `model`'s generated rows counting, per foreign key, references that are dangling or
    cross into another tenant (users: not a member of the row's tenant), plus broken audit columns."""
    table = model._meta.db_table
    names: list[str] = []
    counts: list[str] = []
    joins: list[str] = []
    for n, field in enumerate(f for f in model._meta.concrete_fields if isinstance(f, ForeignKey)):
        target = field.related_model
        column = field.column
        alias = f"j{n}"
        if target is Tenant:
            continue  # rows are selected by their (generated) tenant
        if target is User:
            joins.append(
                f"LEFT JOIN membership {alias} ON {alias}.user_id = r.{column} AND {alias}.tenant_id = r.tenant_id"
            )
            broken = f"{alias}.user_id IS NULL"
        else:
            assert isinstance(target, type) and issubclass(target, TenantModel)
            joins.append(f"LEFT JOIN {target._meta.db_table} {alias} ON {alias}.id = r.{column}")
            broken = f"({alias}.id IS NULL OR {alias}.tenant_id <> r.tenant_id)"
        names.append(f"{table}.{column}: points at a row of the same tenant")
        counts.append(f"count(*) FILTER (WHERE r.{column} IS NOT NULL AND {broken})")
    names.append(f"{table}: audit columns (created ≤ updated, version ≥ 1, deletions signed)")
    counts.append(
        "count(*) FILTER (WHERE r.created_at > r.updated_at OR r.version < 1"
        " OR (r.deleted_at IS NOT NULL AND r.deleted_by_id IS NULL))"
    )
    sql = (
        f"SELECT {', '.join(counts)} FROM {table} r {' '.join(joins)}"  # noqa: S608
        f" WHERE r.tenant_id = ANY({T})"
    )
    return names, sql


def run_checks(tenant_ids: Sequence[int]) -> list[tuple[str, int]]:
    """(description, violations) for every check over the given tenants."""
    params: dict[str, Any] = {"tenants": list(tenant_ids)}
    results: list[tuple[str, int]] = []
    with connection.cursor() as cursor:
        for model in GENERATED_MODELS:
            names, sql = references_sql(model)
            cursor.execute(sql, params)
            row = cursor.fetchone()
            assert row is not None
            results.extend(zip(names, (int(x) for x in row), strict=True))
        for table, column, types in TYPED_REFERENCES:
            cursor.execute(typed_reference_sql(table, column, types), params)
            row = cursor.fetchone()
            assert row is not None
            results.append((f"{table}.{column}: points at {' or '.join(types)}", int(row[0])))
        for description, sql in RULES:
            cursor.execute(sql, params)
            row = cursor.fetchone()
            assert row is not None
            results.append((description, int(row[0])))
    return results
