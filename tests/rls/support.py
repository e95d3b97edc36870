"""Test data and SQL helpers for the row level security suite.

A "world" is two firms (Acme, Rival), each with an admin, two managers with different books
(`manager`: principal A, `other_manager`: principal B), a viewer (principal A), and one or more rows
of every tenant table in each scope: "a" (principal A), "b" (principal B) and "shared". Rows are
labelled by scope (or, for per-user tables, by whose they are) so tests can state the domain's table
literally; history entries are the ones the world's own writes produced, labelled
"<table>:<label of the row they describe>". The data is written as the database owner; every
assertion runs as the runtime role through crm.rls.acting_as, in raw SQL so no ORM query shapes the
result.
"""

from __future__ import annotations

import datetime
import itertools
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone

from contacts.models import Contact
from crm import api_keys, rls
from crm.models import ApiKey, HistoryEntry, Membership, PrincipalAssignment, Tenant, User
from imports.models import Import
from interactions.models import Interaction
from opportunities.models import Opportunity, OpportunityContact, OpportunityProduct, StageProbability
from organizations.models import (
    CustomerDistributor,
    DistributorAuthorization,
    Organization,
)
from products.models import Product, ProductDistributor
from sales.models import ColumnMapping, CustomerAlias, SalesFact, SalesUnmatched
from samples.models import Sample, SampleLine
from tasks.models import Task
from tests import factories as f
from tests.conftest import Firm, make_firm
from tests.rls.rules import TENANT_TABLES
from webhooks.models import WebhookDelivery, WebhookEndpoint

PERSONAS = ("admin", "manager", "other_manager", "viewer")
INSUFFICIENT_PRIVILEGE = "42501"  # RLS WITH CHECK failure, or no table privilege at all
RESTRICT_VIOLATION = "23001"  # refuse_hard_delete: rows are soft-deleted
FOREIGN_KEY_VIOLATION = "23503"  # check_references: "<field> <id> does not exist"
CHECK_VIOLATION = "23514"  # trigger rules such as "a row cannot move to another tenant"
REFUSED = {INSUFFICIENT_PRIVILEGE, FOREIGN_KEY_VIOLATION, CHECK_VIOLATION}

_unique = itertools.count(1)


@dataclass
class FirmWorld:
    """One firm's people and rows. `rows[table][label]` lists primary keys; `ref` names single rows."""

    name: str
    firm: Firm
    rows: dict[str, dict[str, list[int]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    ref: dict[str, int] = field(default_factory=dict)

    @property
    def tenant_id(self) -> int:
        return self.firm.tenant.pk

    def user(self, persona: str) -> User:
        user = getattr(self.firm, persona)
        assert isinstance(user, User)
        return user

    def ids(self, table: str, labels: set[str] | None = None) -> set[int]:
        return {
            pk for label, pks in self.rows[table].items() if labels is None or label in labels for pk in pks
        }

    def add(self, table: str, label: str, obj: models.Model, name: str | None = None) -> Any:
        self.rows[table][label].append(obj.pk)
        if name is not None:
            self.ref[name] = obj.pk
        return obj


@dataclass
class World:
    acme: FirmWorld
    rival: FirmWorld
    spare_user: User  # a user with no membership anywhere (for membership inserts)


def build_firm_world(name: str) -> FirmWorld:
    firm = make_firm(name)
    fw = FirmWorld(name=name, firm=firm)
    tenant = firm.tenant
    fw.add("tenant", "own", tenant)
    for persona in PERSONAS:
        fw.add("membership", persona, fw.user(persona).membership)
    persona_of = {fw.user(p).pk: p for p in PERSONAS}
    for assignment in PrincipalAssignment.objects.filter(tenant=tenant):
        fw.add("principal_assignment", persona_of[assignment.user_id], assignment)
    # An integration's key, a viewer of principal A, made as the admin makes one: its user's membership and
    # book are the firm's too, all labelled "key".
    with rls.acting_as(firm.admin.pk):
        key = api_keys.api_key_create(
            name=f"{name} export", role="viewer", book=[firm.principal_a.pk]
        ).api_key
    fw.add("membership", "key", Membership.objects.get(user_id=key.user_id))
    for assignment in PrincipalAssignment.objects.filter(user_id=key.user_id):
        fw.add("principal_assignment", "key", assignment)
    fw.add("api_key", "key", key)
    # An import of each member's (the viewer's from when they were a manager), as the owner stores one.
    for persona in PERSONAS:
        fw.add("import_run", persona, new_import(fw.tenant_id, fw.user(persona)))
    # A webhook endpoint and one of its deliveries, as an admin and the worker make them.
    endpoint = WebhookEndpoint.objects.create(
        tenant=tenant,
        url="https://hooks.example.com/",
        events=["*"],
        secret_encrypted="x",
        acting_admin=firm.admin,
    )
    fw.add("webhook_endpoint", "hook", endpoint, "webhook_endpoint")
    delivery = WebhookDelivery.objects.create(
        tenant=tenant,
        endpoint=endpoint,
        event_id=1,
        event_type="contacts.create",
        resource="contacts",
        record_id=1,
        payload={},
    )
    fw.add("webhook_delivery", "hook", delivery)
    # The firm's stage probabilities, seeded with the firm by the database (ADR 0032).
    for figure in StageProbability.objects.filter(tenant=tenant):
        fw.add("stage_probability", "figures", figure)

    principal = {"a": firm.principal_a, "b": firm.principal_b}
    fw.add("organization", "a", firm.principal_a, "principal_a")
    fw.add("organization", "b", firm.principal_b, "principal_b")
    fw.add("organization", "shared", firm.distributor, "distributor")
    fw.add("organization", "shared", firm.customer, "customer")
    # Not yet paired with anything: the insert tests pair it without clashing with unique constraints.
    distributor_2 = fw.add(
        "organization",
        "shared",
        f.DistributorFactory(tenant=tenant, name=f"{name} Second Line"),
        "distributor_2",
    )
    shared_contact = fw.add(
        "contact", "shared", f.ContactFactory(tenant=tenant, organization=firm.customer), "contact_shared"
    )
    fw.add(
        "customer_distributor",
        "shared",
        f.CustomerDistributorFactory(tenant=tenant, customer=firm.customer, distributor=firm.distributor),
    )
    fw.add(
        "interaction",
        "shared",
        f.InteractionFactory(tenant=tenant, organization=firm.customer, contact=shared_contact),
        "interaction_shared",
    )
    fw.add(
        "task",
        "shared",
        f.TaskFactory(
            tenant=tenant, organization=firm.customer, contact=shared_contact, assignee=firm.manager
        ),
        "task_shared",
    )
    for scope, org in principal.items():
        fw.add("contact", scope, f.ContactFactory(tenant=tenant, organization=org), f"contact_{scope}")
        product = fw.add("product", scope, f.ProductFactory(tenant=tenant, principal=org), f"product_{scope}")
        fw.add("product", scope, f.ProductFactory(tenant=tenant, principal=org), f"product_{scope}2")
        fw.add(
            "product_distributor",
            scope,
            f.ProductDistributorFactory(tenant=tenant, product=product, distributor=firm.distributor),
            f"product_distributor_{scope}",
        )
        fw.add(
            "distributor_authorization",
            scope,
            f.DistributorAuthorizationFactory(tenant=tenant, distributor=firm.distributor, principal=org),
            f"distributor_authorization_{scope}",
        )
        opportunity = fw.add(
            "opportunity",
            scope,
            f.OpportunityFactory(tenant=tenant, principal=org, customer=firm.customer),
            f"opportunity_{scope}",
        )
        fw.add(
            "opportunity_product",
            scope,
            f.OpportunityProductFactory(tenant=tenant, opportunity=opportunity, product=product),
            f"opportunity_product_{scope}",
        )
        fw.add(
            "opportunity_contact",
            scope,
            f.OpportunityContactFactory(tenant=tenant, opportunity=opportunity, contact=shared_contact),
            f"opportunity_contact_{scope}",
        )
        fw.add(
            "interaction",
            scope,
            f.InteractionFactory(
                tenant=tenant, organization=firm.customer, opportunity=opportunity, contact=shared_contact
            ),
            f"interaction_{scope}",
        )
        # A sample interaction with its sample and a line, and one without a sample yet (for inserts).
        sample_interaction = fw.add(
            "interaction",
            scope,
            f.SampleInteractionFactory(tenant=tenant, organization=firm.customer, principal=org),
            f"sample_interaction_{scope}",
        )
        fw.add(
            "sample", scope, f.SampleFactory(tenant=tenant, interaction=sample_interaction), f"sample_{scope}"
        )
        fw.add(
            "sample_line",
            scope,
            f.SampleLineFactory(tenant=tenant, interaction=sample_interaction, product=product),
            f"sample_line_{scope}",
        )
        fw.add(
            "interaction",
            scope,
            f.SampleInteractionFactory(tenant=tenant, organization=firm.customer, principal=org),
            f"sample_interaction_{scope}_unsampled",
        )
        fw.add(
            "task",
            scope,
            f.TaskFactory(
                tenant=tenant, organization=firm.customer, opportunity=opportunity, assignee=firm.manager
            ),
            f"task_{scope}",
        )
    # Distributor sales (ADR 0034): a fact and a kept row per principal, a kept row with no product of each
    # member's (the viewer's from when they were a manager), and the shared alias and saved mapping.
    for scope in principal:
        fw.add("sales_fact", scope, new_fact(fw, fw.ref[f"product_{scope}"]), f"sales_fact_{scope}")
        fw.add(
            "sales_unmatched",
            scope,
            new_unmatched(fw, fw.firm.admin, product_id=fw.ref[f"product_{scope}"]),
            f"sales_unmatched_{scope}",
        )
    for persona in PERSONAS:
        fw.add("sales_unmatched", persona, new_unmatched(fw, fw.user(persona)))
    fw.add(
        "sales_customer_alias",
        "shared",
        CustomerAlias.objects.create(
            tenant=tenant,
            distributor=firm.distributor,
            kind="ship_to_number",
            value="0042",
            customer=firm.customer,
        ),
    )
    fw.add(
        "sales_column_mapping",
        "shared",
        ColumnMapping.objects.create(tenant=tenant, distributor=firm.distributor, mapping={"Cases": "cases"}),
    )
    content_type = ContentType.objects.get_for_model(Organization)
    for persona in PERSONAS:
        entry = LogEntry.objects.create(
            user=fw.user(persona),
            content_type=content_type,
            object_id=str(distributor_2.pk),
            object_repr=distributor_2.name,
            action_flag=CHANGE,
            change_message="[]",
        )
        fw.add("django_admin_log", persona, entry)
    label_history(fw)
    assert set(fw.rows) == set(TENANT_TABLES), "the world must hold rows of every tenant table"
    return fw


def label_history(fw: FirmWorld) -> None:
    """Label each history entry the firm's writes produced after the row it describes."""
    label_of = {
        (table, pk): label for table, rows in fw.rows.items() for label, pks in rows.items() for pk in pks
    }
    for entry in HistoryEntry.objects.filter(tenant_id=fw.tenant_id).order_by("id"):
        label = label_of.get((entry.table_name, entry.row_id))
        assert label is not None, f"history describes a row the world does not know: {entry}"
        fw.add("history", f"{entry.table_name}:{label}", entry)


def build_world() -> World:
    return World(acme=build_firm_world("Acme"), rival=build_firm_world("Rival"), spare_user=f.UserFactory())


# ---------------------------------------------------------------------------------------------------
# SQL as a user would run it.


@contextmanager
def acting(fw: FirmWorld, persona: str, *, request_id: str = "") -> Iterator[rls.RequestContext]:
    with rls.acting_as(fw.user(persona).pk, request_id=request_id) as context:
        assert context.is_member
        yield context


def fetch_ids(sql: str, params: Any = ()) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


def scalar(sql: str, params: Any = ()) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    assert row is not None
    return row[0]


@dataclass
class Outcome:
    """What a statement did: the ids it returned, or the error it raised (rolled back to a savepoint)."""

    ids: set[int]
    error: DatabaseError | None

    @property
    def sqlstate(self) -> str | None:
        return sqlstate(self.error) if self.error is not None else None

    @property
    def refused(self) -> bool:
        return self.error is not None


def attempt(sql: str, params: Any = (), *, keep: bool = False, purge: bool = False) -> Outcome:
    """Run one statement in its own savepoint, so a refusal leaves the request's transaction usable.

    Unless `keep`, the savepoint is rolled back even on success: a delete that worked would otherwise
    leave dangling foreign keys for the test case's deferred-constraint check. With `purge`, the
    statement runs with crm.purge = on, as the purge command's deletes do, and the switch is turned
    off again after it.
    """
    try:
        with transaction.atomic():
            if purge:
                set_purge("on")
            ids = fetch_ids(sql, params)
            if purge:
                set_purge("")
            transaction.set_rollback(not keep)
        return Outcome(ids=ids, error=None)
    except DatabaseError as error:
        return Outcome(ids=set(), error=error)


def set_purge(value: str) -> None:
    """The switch past the refuse_hard_delete triggers, transaction-local like the request variables."""
    scalar("SELECT set_config('crm.purge', %s, true)", [value])


def attempt_save(obj: models.Model) -> Outcome:
    try:
        with transaction.atomic():
            obj.save(force_insert=True)
        return Outcome(ids={obj.pk}, error=None)
    except DatabaseError as error:
        return Outcome(ids=set(), error=error)


def sqlstate(error: BaseException) -> str | None:
    cause = error.__cause__ or error
    return getattr(cause, "sqlstate", None)


def primary_message(error: BaseException) -> str:
    cause = error.__cause__ or error
    diag = getattr(cause, "diag", None)
    return str(getattr(diag, "message_primary", None) or cause)


def runtime_may(table: str, command: str) -> bool:
    """Whether the runtime role holds the table privilege at all (without it PostgreSQL refuses before RLS)."""
    return bool(scalar("SELECT has_table_privilege(%s, %s, %s)", [rls.runtime_role(), table, command]))


def owner_value(table: str, pk: int, column: str) -> Any:
    """A column as the owner sees it (outside acting_as): the truth, whatever RLS would show."""
    return scalar(f"SELECT {column} FROM {table} WHERE id = %s", [pk])


# ---------------------------------------------------------------------------------------------------
# New rows, one builder per table: what a user of a firm would try to insert in a scope.
#
# Scopes: "a" / "b" (principal-scoped), "shared", and per table: "principal" (a new principal
# organization), "assignment", "member", "firm", "own" / "someone_else" (admin log entries).

INSERT_SCOPES: dict[str, tuple[str, ...]] = {
    "tenant": ("firm",),
    "membership": ("member",),
    "principal_assignment": ("assignment",),
    "organization": ("shared", "principal"),
    "distributor_authorization": ("a", "b"),
    "customer_distributor": ("shared",),
    "contact": ("a", "b", "shared"),
    "product": ("a", "b"),
    "product_distributor": ("a", "b"),
    "opportunity": ("a", "b"),
    "opportunity_product": ("a", "b"),
    "opportunity_contact": ("a", "b"),
    "interaction": ("a", "b", "shared"),
    "sample": ("a", "b"),
    "sample_line": ("a", "b"),
    "task": ("a", "b", "shared"),
    "django_admin_log": ("own", "someone_else"),
    "history": ("entry",),
    "api_key": ("key",),
    "import_run": ("own", "someone_else"),
    "webhook_endpoint": ("hook",),
    "webhook_delivery": ("delivery",),
    "stage_probability": ("figure",),
    "sales_fact": ("a", "b"),
    "sales_unmatched": ("a", "b", "own", "someone_else"),
    "sales_customer_alias": ("shared",),
    "sales_column_mapping": ("shared",),
}


def new_row(table: str, fw: FirmWorld, scope: str, actor: User, world: World) -> models.Model:
    """An unsaved row of `table` referencing `fw`'s rows. tenant_id is left to the database (it
    defaults to the request's tenant) unless the caller sets it."""
    n = next(_unique)
    ref = fw.ref
    principal = ref.get(f"principal_{scope}")
    if table == "tenant":
        return Tenant(name=f"New Firm {n}")
    if table == "membership":
        return Membership(tenant_id=fw.tenant_id, user=world.spare_user, role="viewer")
    if table == "principal_assignment":
        # principal A is not yet in the other manager's book
        return PrincipalAssignment(user=fw.firm.other_manager, principal_id=ref["principal_a"])
    if table == "organization":
        kind = "principal" if scope == "principal" else "customer"
        return Organization(name=f"New {kind} {n}", type=kind)
    if table == "distributor_authorization":
        return DistributorAuthorization(distributor_id=ref["distributor_2"], principal_id=principal)
    if table == "customer_distributor":
        return CustomerDistributor(customer_id=ref["customer"], distributor_id=ref["distributor_2"])
    if table == "contact":
        organization = ref["customer"] if scope == "shared" else principal
        return Contact(organization_id=organization, first_name="New", email=f"new{n}@example.test")
    if table == "product":
        return Product(principal_id=principal, name=f"New product {n}", sku=f"NEW-{n}")
    if table == "product_distributor":
        return ProductDistributor(
            product_id=ref[f"product_{scope}"],
            distributor_id=ref["distributor_2"],
            vendor_item_number=f"N{n}",
        )
    if table == "opportunity":
        return Opportunity(name=f"New placement {n}", principal_id=principal, customer_id=ref["customer"])
    if table == "opportunity_product":
        return OpportunityProduct(
            opportunity_id=ref[f"opportunity_{scope}"], product_id=ref[f"product_{scope}2"]
        )
    if table == "opportunity_contact":
        return OpportunityContact(
            opportunity_id=ref[f"opportunity_{scope}"], contact_id=ref[f"contact_{scope}"]
        )
    if table == "interaction":
        return Interaction(
            type="call",
            occurred_at=timezone.now(),
            subject=f"New call {n}",
            organization_id=ref["customer"],
            opportunity_id=ref.get(f"opportunity_{scope}"),
        )
    if table == "sample":
        return Sample(interaction_id=ref[f"sample_interaction_{scope}_unsampled"])
    if table == "sample_line":
        return SampleLine(
            interaction_id=ref[f"sample_interaction_{scope}"], product_id=ref[f"product_{scope}2"], quantity=1
        )
    if table == "task":
        return Task(
            title=f"New task {n}",
            due_on=timezone.localdate(),
            assignee=actor,
            organization_id=ref["customer"],
            opportunity_id=ref.get(f"opportunity_{scope}"),
        )
    if table == "django_admin_log":
        user = actor if scope == "own" else fw.firm.admin if actor != fw.firm.admin else fw.firm.viewer
        return LogEntry(
            user=user,
            content_type=ContentType.objects.get_for_model(Organization),
            object_id=str(ref["customer"]),
            object_repr="New entry",
            action_flag=CHANGE,
            change_message="[]",
        )
    if table == "history":
        # A forged entry: "the placement was lost", in the firm and scope of a row the actor can see.
        return HistoryEntry(
            tenant_id=fw.tenant_id,
            table_name="opportunity",
            row_id=ref["opportunity_a"],
            operation="update",
            actor=actor,
            changes={"stage": ["new_lead", "closed_lost"]},
            scope_principal_id=ref["principal_a"],
        )
    if table == "api_key":
        # A key of the actor's choosing for a member with no key: refused, keys are made by
        # crm_create_api_key() alone (the runtime role holds no INSERT on api_key).
        return ApiKey(tenant_id=fw.tenant_id, user=world.spare_user, name=f"Key {n}", key_id=f"{n:016x}")
    if table == "import_run":
        user = actor if scope == "own" else fw.firm.admin if actor != fw.firm.admin else fw.firm.manager
        return new_import(fw.tenant_id, user, save=False)
    if table == "webhook_endpoint":
        return WebhookEndpoint(
            tenant_id=fw.tenant_id,
            url="https://new.example.com/",
            events=["*"],
            secret_encrypted="x",
            acting_admin=actor,
        )
    if table == "webhook_delivery":
        # Deliveries are made by the worker's dispatcher alone (the runtime role holds no INSERT).
        return WebhookDelivery(
            tenant_id=fw.tenant_id,
            endpoint_id=ref["webhook_endpoint"],
            event_id=n,
            event_type="contacts.create",
            resource="contacts",
            record_id=1,
            payload={},
        )
    if table == "stage_probability":
        # A figure of the actor's choosing: refused, a firm's rows come with it (the runtime role holds no
        # INSERT on stage_probability).
        return StageProbability(tenant_id=fw.tenant_id, stage="new_lead", probability=5)
    if table == "sales_fact":
        # A week no fact of the world holds, for a product of the scope.
        return new_fact(fw, ref[f"product_{scope}2"], save=False)
    if table == "sales_unmatched":
        if scope in ("a", "b"):
            return new_unmatched(fw, actor, product_id=ref[f"product_{scope}2"], save=False)
        user = actor if scope == "own" else fw.firm.admin if actor != fw.firm.admin else fw.firm.manager
        return new_unmatched(fw, user, save=False)
    if table == "sales_customer_alias":
        return CustomerAlias(
            tenant_id=fw.tenant_id,
            distributor_id=ref["distributor_2"],
            kind="ship_to_name",
            value=f"Ship-to {n}",
            customer_id=ref["customer"],
        )
    if table == "sales_column_mapping":
        return ColumnMapping(tenant_id=fw.tenant_id, distributor_id=ref["distributor_2"], mapping={})
    raise AssertionError(f"no builder for {table}")


def new_fact(fw: FirmWorld, product_id: int, *, save: bool = True) -> SalesFact:
    """A week's cases of a product, as a sales import writes them (the principal is the database's)."""
    fact = SalesFact(
        tenant_id=fw.tenant_id,
        distributor_id=fw.ref["distributor"],
        product_id=product_id,
        customer_id=fw.ref["customer"],
        principal_id=0,  # replaced by the product's principal (the check_references trigger)
        period_kind="week",
        period_start=datetime.date(2026, 3, 2) if save else datetime.date(2026, 3, 9),
        cases=Decimal(4),
    )
    if save:
        fact.save()
    return fact


def new_unmatched(
    fw: FirmWorld, user: User, *, product_id: int | None = None, save: bool = True
) -> SalesUnmatched:
    """A row of a sales file kept aside by `user`'s import: its customer not recognised (and its product,
    unless given)."""
    row = SalesUnmatched(
        tenant_id=fw.tenant_id,
        created_by=user,
        distributor_id=fw.ref["distributor"],
        product_id=product_id,
        item_number="" if product_id else "9999",
        ship_to_name="Somewhere Unknown",
        period_kind="week",
        period_start=datetime.date(2026, 3, 2),
        cases=Decimal(1),
    )
    if save:
        row.save()
    return row


def new_import(tenant_id: int, user: User, *, save: bool = True) -> Import:
    """An import of a small file, queued, as imports.services.import_create stores one."""
    record = Import(
        tenant_id=tenant_id,
        created_by=user,
        kind="organizations",
        file_name="orgs.csv",
        file_type="csv",
        file_size=13,
        file_sha256="0" * 64,
        content=b"Company\r\nA\r\n",
        rows_total=1,
    )
    if save:
        record.save()
    return record


def has_tenant_column(table: str) -> bool:
    return table not in ("tenant", "django_admin_log")
