"""Property: for random firms, users, books and records, what each user reads, updates and deletes
through RLS is exactly what domain.md's rules (tests/rls/rules.py) say, table by table, the history
the records' writes produced included. Deletes run as a purge would (crm.purge = on): without it the
refuse_hard_delete triggers stop them before the policies matter (test_visibility.py)."""

from __future__ import annotations

import datetime
import secrets
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm import rls
from crm.models import ApiKey, HistoryEntry, Tenant, User
from opportunities.models import StageProbability
from organizations.models import Organization
from sales.models import ColumnMapping, CustomerAlias, SalesFact, SalesUnmatched
from tests import factories as f
from tests.rls.rules import (
    ADMIN,
    ROLES,
    TENANT_TABLES,
    Actor,
    Row,
    may_delete,
    may_read,
    may_write,
)
from tests.rls.support import new_import, runtime_may, set_purge
from webhooks.models import WebhookDelivery, WebhookEndpoint

# Kinds of record that always belong to a principal, and those that may be shared (principal None).
PRINCIPAL_KINDS = (
    "product",
    "product_distributor",
    "distributor_authorization",
    "opportunity",
    "opportunity_product",
    "opportunity_contact",
    "sample",
    "sales_fact",
    "sales_unmatched",
)
SHAREABLE_KINDS = ("contact", "interaction", "task")


@dataclass(frozen=True)
class UserPlan:
    role: str
    book: frozenset[int]  # indexes into the firm's principals
    revoked: frozenset[int]  # assignments soft-deleted: no longer in the book
    active: bool


@dataclass(frozen=True)
class FirmPlan:
    principals: int
    users: tuple[UserPlan, ...]
    records: tuple[tuple[str, int | None], ...]


@st.composite
def firm_plans(draw: st.DrawFn) -> FirmPlan:
    principals = draw(st.integers(min_value=1, max_value=3))
    principal = st.integers(min_value=0, max_value=principals - 1)
    users = draw(
        st.lists(
            st.builds(
                UserPlan,
                role=st.sampled_from(ROLES),
                book=st.frozensets(principal),
                revoked=st.frozensets(principal, max_size=1),
                active=st.sampled_from([True, True, True, False]),
            ),
            min_size=1,
            max_size=3,
        )
    )
    records = draw(
        st.lists(
            st.one_of(
                st.tuples(st.sampled_from(PRINCIPAL_KINDS), principal),
                st.tuples(st.sampled_from(SHAREABLE_KINDS), st.none() | principal),
                st.tuples(st.just("customer_distributor"), st.none()),
            ),
            max_size=8,
        )
    )
    return FirmPlan(principals=principals, users=tuple(users), records=tuple(records))


class Builder:
    """Creates a plan's rows as the owner and records each one as the domain sees it."""

    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.actors: list[Actor] = []
        self.content_type = ContentType.objects.get_for_model(Organization)

    def row(self, table: str, obj: object, tenant: Tenant, principal: Organization | None = None) -> None:
        pk = getattr(obj, "pk")  # noqa: B009 - any model
        user_id = getattr(obj, "user_id", None)
        principal_id = principal.pk if principal is not None else None
        self.rows.append(Row(table, pk, tenant.pk, principal_id=principal_id, user_id=user_id))

    def firm(self, plan: FirmPlan) -> None:
        tenant = f.TenantFactory()
        self.row("tenant", tenant, tenant)
        principals = [f.PrincipalFactory(tenant=tenant) for _ in range(plan.principals)]
        for principal in principals:
            self.row("organization", principal, tenant, principal)
        customer = f.CustomerFactory(tenant=tenant)
        distributor = f.DistributorFactory(tenant=tenant)
        self.row("organization", customer, tenant)
        self.row("organization", distributor, tenant)
        for user_plan in plan.users:
            self.user(tenant, principals, user_plan)
        # An integration's key, as the owner would store one: its user is a member (a viewer) too.
        key_membership = f.MembershipFactory(tenant=tenant, role="viewer")
        key_membership.user.set_unusable_password()
        key_membership.user.save(update_fields=["password"])
        self.row("membership", key_membership, tenant)
        key = ApiKey.objects.create(
            tenant=tenant, user=key_membership.user, name="Export", key_id=secrets.token_hex(8)
        )
        self.row("api_key", key, tenant)
        self.assignee = key_membership.user  # a member to give tasks to
        # A webhook endpoint and one delivery, as the admin and the worker would make them.
        admin = f.MembershipFactory(tenant=tenant, role="admin")
        self.row("membership", admin, tenant)
        self.actors.append(Actor(admin.user_id, tenant.pk, "admin"))
        endpoint = WebhookEndpoint.objects.create(
            tenant=tenant,
            url="https://hooks.example.com/",
            events=["*"],
            secret_encrypted="x",
            acting_admin=admin.user,
        )
        self.row("webhook_endpoint", endpoint, tenant)
        delivery = WebhookDelivery.objects.create(
            tenant=tenant,
            endpoint=endpoint,
            event_id=1,
            event_type="contacts.create",
            resource="contacts",
            record_id=1,
            payload={},
        )
        self.row("webhook_delivery", delivery, tenant)
        for figure in StageProbability.objects.filter(tenant=tenant):  # seeded with the firm (ADR 0032)
            self.row("stage_probability", figure, tenant)
        # The shared sales rows: an alias of the customer and the distributor's saved mapping.
        alias = CustomerAlias.objects.create(
            tenant=tenant, distributor=distributor, kind="ship_to_name", value="Corner", customer=customer
        )
        self.row("sales_customer_alias", alias, tenant)
        mapping = ColumnMapping.objects.create(tenant=tenant, distributor=distributor, mapping={})
        self.row("sales_column_mapping", mapping, tenant)
        for kind, index in plan.records:
            self.record(tenant, kind, principals[index] if index is not None else None, customer, distributor)

    def user(self, tenant: Tenant, principals: list[Organization], plan: UserPlan) -> None:
        membership = f.MembershipFactory(tenant=tenant, role=plan.role)
        user = membership.user
        self.row("membership", membership, tenant)
        imported = new_import(tenant.pk, user)
        self.rows.append(Row("import_run", imported.pk, tenant.pk, user_id=user.pk))
        # A row of one of their sales imports kept aside with no product recognised: theirs alone.
        kept = self.kept(tenant, user, None)
        self.rows.append(Row("sales_unmatched", kept.pk, tenant.pk, user_id=user.pk))
        for index in plan.book:
            assignment = f.PrincipalAssignmentFactory(
                tenant=tenant,
                user=user,
                principal=principals[index],
                deleted_at=timezone.now() if index in plan.revoked else None,
            )
            self.row("principal_assignment", assignment, tenant)
        entry = LogEntry.objects.create(
            user=user, content_type=self.content_type, object_id="1", object_repr="x", action_flag=CHANGE
        )
        self.rows.append(Row("django_admin_log", entry.pk, None, user_id=user.pk))
        if not plan.active:  # deactivated after the fact: the book stays, the user gets nothing
            User.objects.filter(pk=user.pk).update(is_active=False)
        live_book = frozenset(principals[i].pk for i in plan.book - plan.revoked)
        if not plan.active:
            self.actors.append(Actor(user.pk, None, None))
        else:
            self.actors.append(
                Actor(user.pk, tenant.pk, plan.role, live_book if plan.role != ADMIN else frozenset())
            )

    def record(
        self,
        tenant: Tenant,
        kind: str,
        principal: Organization | None,
        customer: Organization,
        distributor: Organization,
    ) -> None:
        t = tenant
        if kind == "contact":
            contact = f.ContactFactory(tenant=t, organization=principal or customer)
            self.row("contact", contact, t, principal)
        elif kind == "interaction":
            interaction = f.InteractionFactory(tenant=t, organization=customer, principal=principal)
            self.row("interaction", interaction, t, principal)
        elif kind == "task":
            task = f.TaskFactory(tenant=t, organization=customer, principal=principal, assignee=self.assignee)
            self.row("task", task, t, principal)
        elif kind == "customer_distributor":
            new_customer = f.CustomerFactory(tenant=t)
            self.row("organization", new_customer, t)
            link = f.CustomerDistributorFactory(tenant=t, customer=new_customer, distributor=distributor)
            self.row("customer_distributor", link, t)
        elif kind == "distributor_authorization":
            new_distributor = f.DistributorFactory(tenant=t)
            self.row("organization", new_distributor, t)
            authorization = f.DistributorAuthorizationFactory(
                tenant=t, distributor=new_distributor, principal=principal
            )
            self.row("distributor_authorization", authorization, t, principal)
        elif kind in ("product", "product_distributor", "opportunity_product"):
            product = f.ProductFactory(tenant=t, principal=principal)
            self.row("product", product, t, principal)
            if kind == "product_distributor":
                item = f.ProductDistributorFactory(tenant=t, product=product, distributor=distributor)
                self.row("product_distributor", item, t, principal)
            if kind == "opportunity_product":
                opportunity = f.OpportunityFactory(tenant=t, principal=principal, customer=customer)
                self.row("opportunity", opportunity, t, principal)
                line = f.OpportunityProductFactory(tenant=t, opportunity=opportunity, product=product)
                self.row("opportunity_product", line, t, principal)
        elif kind == "sample":
            product = f.ProductFactory(tenant=t, principal=principal)
            self.row("product", product, t, principal)
            interaction = f.SampleInteractionFactory(tenant=t, organization=customer, principal=principal)
            self.row("interaction", interaction, t, principal)
            sample = f.SampleFactory(tenant=t, interaction=interaction)
            self.row("sample", sample, t, principal)
            sample_line = f.SampleLineFactory(tenant=t, interaction=interaction, product=product)
            self.row("sample_line", sample_line, t, principal)
        elif kind in ("opportunity", "opportunity_contact"):
            opportunity = f.OpportunityFactory(tenant=t, principal=principal, customer=customer)
            self.row("opportunity", opportunity, t, principal)
            if kind == "opportunity_contact":
                contact = f.ContactFactory(tenant=t, organization=customer)
                self.row("contact", contact, t)
                involvement = f.OpportunityContactFactory(tenant=t, opportunity=opportunity, contact=contact)
                self.row("opportunity_contact", involvement, t, principal)
        elif kind in ("sales_fact", "sales_unmatched"):
            product = f.ProductFactory(tenant=t, principal=principal)
            self.row("product", product, t, principal)
            if kind == "sales_fact":
                fact = SalesFact.objects.create(
                    tenant=t,
                    distributor=distributor,
                    product=product,
                    customer=customer,
                    principal_id=0,  # the product's, set by the database
                    period_kind="week",
                    period_start=datetime.date(2026, 3, 2),
                    cases=Decimal(3),
                )
                self.row("sales_fact", fact, t, principal)
            else:
                kept = self.kept(t, None, product)
                self.rows.append(
                    Row("sales_unmatched", kept.pk, t.pk, principal_id=principal.pk if principal else None)
                )
        else:
            raise AssertionError(kind)

    def kept(self, tenant: Tenant, user: User | None, product: object) -> SalesUnmatched:
        """A row of a sales file kept aside (its customer, and unless given its product, not recognised)."""
        distributor = Organization.objects.filter(tenant=tenant, type="distributor").order_by("id").first()
        return SalesUnmatched.objects.create(
            tenant=tenant,
            created_by=user or User.objects.filter(membership__tenant=tenant).order_by("id").first(),
            distributor=distributor,
            product=product,
            item_number="" if product else "9999",
            ship_to_name="Somewhere",
            period_kind="week",
            period_start=datetime.date(2026, 3, 2),
            cases=Decimal(1),
        )

    def history(self) -> None:
        """Record the history entries the plan's writes produced, each describing its row."""
        described = {(row.table, row.pk): row for row in self.rows}
        tenants = {row.tenant_id for row in self.rows if row.table == "tenant"}
        for entry in HistoryEntry.objects.filter(tenant_id__in=tenants):
            row = described.get((entry.table_name, entry.row_id))
            assert row is not None, f"history describes a row the plan did not write: {entry}"
            assert entry.scope_principal_id == row.principal_id, f"{entry} is not scoped like its row"
            self.rows.append(
                Row("history", entry.pk, entry.tenant_id, principal_id=row.principal_id, describes=row)
            )


def union_of(tables: list[str], statement: str) -> str:
    """One statement over many tables: `statement` is a query with {table}, returning `id`."""
    parts = [f"q_{table} AS ({statement.format(table=table)} RETURNING id)" for table in tables]
    selects = [f"SELECT '{table}' AS t, id FROM q_{table}" for table in tables]
    return "WITH " + ", ".join(parts) + " " + " UNION ALL ".join(selects)


def reached(sql: str, *, purge: bool = False) -> set[tuple[str, int]]:
    with transaction.atomic(), connection.cursor() as cursor:
        if purge:
            set_purge("on")
        cursor.execute(sql)
        result = {(table, pk) for table, pk in cursor.fetchall()}
        transaction.set_rollback(True)
    return result


def describe(diff: set[tuple[str, int]]) -> str:
    return ", ".join(f"{table}: {n}" for table, n in sorted(Counter(t for t, _ in diff).items()))


def check(actor: Actor, rows: list[Row]) -> None:
    read_sql = " UNION ALL ".join(f"SELECT '{table}' AS t, id FROM {table}" for table in TENANT_TABLES)
    updatable = [t for t in TENANT_TABLES if runtime_may(t, "UPDATE")]
    deletable = [t for t in TENANT_TABLES if runtime_may(t, "DELETE")]
    with rls.acting_as(actor.user_id):
        seen = {
            "read": reached(read_sql),
            "update": reached(union_of(updatable, "UPDATE {table} SET id = id")),
            "delete": reached(union_of(deletable, "DELETE FROM {table}"), purge=True),
        }
    for command, rule in (("read", may_read), ("update", may_write), ("delete", may_delete)):
        want = {(row.table, row.pk) for row in rows if rule(actor, row)}
        got = seen[command]
        assert got == want, (
            f"{actor}: {command} reached rows it must not ({describe(got - want)})"
            f" and missed rows it should ({describe(want - got)})"
        )


@settings(
    max_examples=30,
    deadline=None,
    database=None,  # no example database written into the working tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(firms=st.lists(firm_plans(), min_size=2, max_size=2))
def test_each_user_reaches_exactly_the_rows_the_domain_rules_allow(db: None, firms: list[FirmPlan]) -> None:
    with transaction.atomic():
        builder = Builder()
        for plan in firms:
            builder.firm(plan)
        builder.history()
        stranger = f.UserFactory()  # signed in, but a member of no firm
        builder.actors.append(Actor(stranger.pk, None, None))
        for actor in builder.actors:
            check(actor, builder.rows)
        transaction.set_rollback(True)


def test_property_builder_covers_every_tenant_table(db: None) -> None:
    """The generated worlds can hold a row of every table, so the property speaks about all of them."""
    plan = FirmPlan(
        principals=1,
        users=(UserPlan(ADMIN, frozenset({0}), frozenset(), True),),
        records=(
            *((kind, 0) for kind in (*PRINCIPAL_KINDS, *SHAREABLE_KINDS)),
            ("customer_distributor", None),
        ),
    )
    builder = Builder()
    builder.firm(plan)
    builder.history()
    assert {row.table for row in builder.rows} == set(TENANT_TABLES)
    assert User.objects.filter(pk=builder.actors[0].user_id).exists()
