"""domain.md's "Who sees what" table as plain Python: the oracle the property-based test checks RLS against.

Written from the domain text, not from the policy SQL, so a policy that drifts from the domain fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ADMIN, MANAGER, VIEWER = "admin", "manager", "viewer"
ROLES = (ADMIN, MANAGER, VIEWER)
WRITERS = (ADMIN, MANAGER)

# Rows keyed by a principal; no shared rows exist in these (the principal is required).
PRINCIPAL_SCOPED = (
    "distributor_authorization",
    "product",
    "product_distributor",
    "opportunity",
    "opportunity_product",
    "opportunity_contact",
    "sample",
    "sample_line",
)
# Shared rows visible to every role of the tenant.
SHARED_FOR_ALL_ROLES = ("organization", "customer_distributor")
# Shared rows visible to admins and managers, not viewers.
SHARED_NOT_FOR_VIEWERS = ("contact", "interaction", "task")
# Members, assignments: the admin's to read and manage; everyone else reads their own.
MEMBER_TABLES = ("membership", "principal_assignment")
# API keys: the firm's admins read them; nobody inserts (crm_create_api_key() does), updates beyond
# revoking (UPDATE of revoked_at alone, a column grant) or deletes them through the runtime role.
KEY_TABLES = ("api_key",)
# Imports (the imports app): their importer reads and updates them (the job acting as the importer keeps
# its progress, whatever their role is by then), admins read the firm's; writers start their own; none
# is ever deleted through the runtime role.
IMPORT_TABLES = ("import_run",)
# Webhooks (ADR 0027): the firm's admins manage endpoints; deliveries are created by the worker (the
# owner) alone, and admins read them and ask for a redelivery (an update); they go with their endpoint.
WEBHOOK_ENDPOINT_TABLES = ("webhook_endpoint",)
WEBHOOK_DELIVERY_TABLES = ("webhook_delivery",)
WEBHOOK_TABLES = WEBHOOK_ENDPOINT_TABLES + WEBHOOK_DELIVERY_TABLES
# The firm's settings (ADR 0032: stage probabilities): every member reads them, the firm's admins change
# them; rows come and go with the firm (created by the owner), never inserted or deleted by a member.
FIRM_SETTINGS_TABLES = ("stage_probability",)
# Distributor sales (ADR 0034), not business records (no soft delete, no history): facts are the product's
# principal's, written and deleted (a period re-imported replaces them) by the writers of that book.
SALES_FACT_TABLES = ("sales_fact",)
# Rows of a sales file kept aside: the product's principal's when one was recognised, else their importer's
# (and the admins'); each is inserted as its importer's.
SALES_UNMATCHED_TABLES = ("sales_unmatched",)
# Aliases and saved mappings: shared, read by every role, written and removed by writers.
SALES_SHARED_TABLES = ("sales_customer_alias", "sales_column_mapping")
SALES_TABLES = SALES_FACT_TABLES + SALES_UNMATCHED_TABLES + SALES_SHARED_TABLES
# The business data: soft-deleted, never hard-deleted outside a purge, every change kept in history.
BUSINESS_TABLES = PRINCIPAL_SCOPED + SHARED_FOR_ALL_ROLES + SHARED_NOT_FOR_VIEWERS
# Also soft-deleted (a revoked assignment keeps its row), but book changes are tenancy, not history.
SOFT_DELETED_TABLES = (*BUSINESS_TABLES, "principal_assignment")

TENANT_TABLES = (
    "tenant",
    "membership",
    "principal_assignment",
    "organization",
    "distributor_authorization",
    "customer_distributor",
    "contact",
    "product",
    "product_distributor",
    "opportunity",
    "opportunity_product",
    "opportunity_contact",
    "interaction",
    "sample",
    "sample_line",
    "task",
    "django_admin_log",
    "history",
    "api_key",
    "import_run",
    "webhook_endpoint",
    "webhook_delivery",
    "stage_probability",
    *SALES_TABLES,
)


@dataclass(frozen=True)
class Actor:
    """Who runs the statement. `tenant_id` None: no membership, inactive, or no user at all."""

    user_id: int | None
    tenant_id: int | None
    role: str | None
    book: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Row:
    """A row as the domain describes it: its tenant, its scope key (None = shared) and, for per-user
    tables, whose it is. For the tenant table, tenant_id is the firm's own id. A history entry
    `describes` the business row it records a change of."""

    table: str
    pk: int
    tenant_id: int | None
    principal_id: int | None = None
    user_id: int | None = None
    describes: Row | None = None


def may_read(actor: Actor, row: Row) -> bool:
    if actor.tenant_id is None or actor.user_id is None:
        return False
    if row.table == "django_admin_log":
        return row.user_id == actor.user_id
    if row.tenant_id != actor.tenant_id:
        return False
    if row.table == "tenant":
        return True
    if row.table in KEY_TABLES or row.table in WEBHOOK_TABLES:
        return actor.role == ADMIN
    if row.table in IMPORT_TABLES:
        return actor.role == ADMIN or row.user_id == actor.user_id
    if row.table in FIRM_SETTINGS_TABLES:
        return True
    if row.table == "history":
        # A change is seen by exactly those who see the row it changed.
        return row.describes is not None and may_read(actor, row.describes)
    if row.table in MEMBER_TABLES:
        return actor.role == ADMIN or row.user_id == actor.user_id
    if row.table in SALES_SHARED_TABLES:
        return True
    if row.table in SALES_UNMATCHED_TABLES and row.principal_id is None:
        return actor.role == ADMIN or row.user_id == actor.user_id
    if row.principal_id is None:
        if row.table in SHARED_FOR_ALL_ROLES:
            return True
        return actor.role != VIEWER
    return actor.role == ADMIN or row.principal_id in actor.book


def may_write(actor: Actor, row: Row) -> bool:
    """Update an existing row, or insert it. Deleting differs only where `may_delete` says so."""
    if actor.tenant_id is None or actor.user_id is None:
        return False
    if row.table == "django_admin_log":
        return False  # append-only: an entry is written once, by its user (see may_insert)
    if row.table == "history":
        return False  # append-only, and written by the record_history triggers alone
    if row.tenant_id != actor.tenant_id:
        return False
    if row.table in KEY_TABLES:
        return False  # an admin revokes (revoked_at only); no other column is the runtime role's to write
    if row.table in IMPORT_TABLES:
        return row.user_id == actor.user_id
    if row.table in WEBHOOK_TABLES or row.table in FIRM_SETTINGS_TABLES:
        return actor.role == ADMIN
    if row.table == "tenant":
        return False  # renamed by the owner only: names are unique across firms, a rename would probe them
    if row.table in MEMBER_TABLES:
        return actor.role == ADMIN
    return actor.role in WRITERS and may_read(actor, row)


def may_insert(actor: Actor, row: Row) -> bool:
    if row.table == "history":
        return False  # only through a business row's trigger, never by a statement of its own
    if row.table == "django_admin_log":
        return actor.tenant_id is not None and row.user_id == actor.user_id and actor.role in WRITERS
    if row.table == "tenant":
        return False  # firms are created by the owner (create_tenant), never by a member
    if row.table in KEY_TABLES:
        return False  # keys are created with their user by crm_create_api_key() alone
    if row.table in IMPORT_TABLES:
        return row.tenant_id == actor.tenant_id and row.user_id == actor.user_id and actor.role in WRITERS
    if row.table in WEBHOOK_DELIVERY_TABLES:
        return False  # created by the worker's dispatcher alone
    if row.table in FIRM_SETTINGS_TABLES:
        return False  # created with the firm, by the owner
    if row.table in SALES_UNMATCHED_TABLES and row.user_id != actor.user_id:
        return False  # kept by the import acting as its importer: each row is its writer's own
    return may_write(actor, row)


def may_delete(actor: Actor, row: Row) -> bool:
    """A real DELETE is a purge (rows are soft-deleted through UPDATE): admins only."""
    if row.table in ("tenant", *KEY_TABLES, *IMPORT_TABLES, *WEBHOOK_DELIVERY_TABLES, *FIRM_SETTINGS_TABLES):
        return False
    if row.table in BUSINESS_TABLES:
        return actor.role == ADMIN and may_write(actor, row)
    if row.table == "membership" and row.user_id == actor.user_id:
        return False  # an admin cannot remove themselves and lock the firm out
    return may_write(actor, row)
