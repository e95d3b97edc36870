"""Helpers for the admin suite: signed-in clients, one sample row per model, and posting forms as a
browser would (the page's own inputs, changed where the test says)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

from django.db import connection, models
from django.test import Client
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from crm.models import Membership, PrincipalAssignment, Tenant, User
from interactions.models import Interaction
from opportunities.models import Opportunity, OpportunityContact, OpportunityProduct, StageProbability
from organizations.models import (
    CustomerDistributor,
    DistributorAuthorization,
    Organization,
)
from products.models import Product, ProductDistributor
from sales.models import ColumnMapping, CustomerAlias, SalesFact, SalesUnmatched
from samples.models import Sample as SampleRecord
from tasks.models import Task
from tests import factories as f
from tests.conftest import Firm

ADMIN = "/admin"


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(model: type[models.Model], view: str = "changelist", pk: Any = None) -> str:
    base = f"{ADMIN}/{model._meta.app_label}/{model._meta.model_name}/"
    if view == "changelist":
        return base
    if view == "add":
        return f"{base}add/"
    return f"{base}{pk}/{view}/"


def count_queries(client: Client, path: str, *, warm_up: bool = True) -> int:
    """Queries of one GET, after a first GET that fills process-wide caches (content types)."""
    if warm_up:
        client.get(path)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, response.status_code
    return len(queries)


# ---------------------------------------------------------------------------------------------------
# Sample rows: principal A's (in the manager's and the viewer's book) or the signed-in user's own.


@dataclass
class Sample:
    """One row per registered model, visible to the admin, the manager and the viewer of the firm."""

    firm: Firm
    contact: Contact
    product: Product
    product_distributor: ProductDistributor
    opportunity: Opportunity
    opportunity_product: OpportunityProduct
    opportunity_contact: OpportunityContact
    interaction: Interaction
    sample: SampleRecord
    authorization: DistributorAuthorization
    customer_distributor: CustomerDistributor
    tasks: dict[int, Task]  # each member's own (the list opens on "My tasks"), about principal A's deal
    sales_fact: SalesFact
    sales_unmatched: SalesUnmatched  # its product recognised: principal A's, in every role's sight
    customer_alias: CustomerAlias
    column_mapping: ColumnMapping

    def row(self, model: type[models.Model], user: User) -> models.Model:
        """The sample row of `model`; for tenancy models, the signed-in user's own (the admin, who has
        no book, gets the manager's assignment)."""
        firm = self.firm
        rows: dict[type[models.Model], Callable[[], models.Model]] = {
            Tenant: lambda: firm.tenant,
            User: lambda: user,
            Membership: lambda: user.membership,
            PrincipalAssignment: lambda: PrincipalAssignment.objects.get(
                user=firm.manager if user == firm.admin else user
            ),
            Organization: lambda: firm.principal_a,
            DistributorAuthorization: lambda: self.authorization,
            CustomerDistributor: lambda: self.customer_distributor,
            Contact: lambda: self.contact,
            Product: lambda: self.product,
            ProductDistributor: lambda: self.product_distributor,
            Opportunity: lambda: self.opportunity,
            OpportunityProduct: lambda: self.opportunity_product,
            OpportunityContact: lambda: self.opportunity_contact,
            Interaction: lambda: self.interaction,
            StageProbability: lambda: StageProbability.objects.get(tenant=firm.tenant, stage="new_lead"),
            SampleRecord: lambda: self.sample,
            Task: lambda: self.tasks[user.pk],
            SalesFact: lambda: self.sales_fact,
            SalesUnmatched: lambda: self.sales_unmatched,
            CustomerAlias: lambda: self.customer_alias,
            ColumnMapping: lambda: self.column_mapping,
        }
        return rows[model]()


def make_sample(firm: Firm) -> Sample:
    tenant = firm.tenant
    contact = f.ContactFactory(tenant=tenant, organization=firm.principal_a, title="Regional sales")
    product = f.ProductFactory(tenant=tenant, principal=firm.principal_a)
    opportunity = f.OpportunityFactory(tenant=tenant, principal=firm.principal_a, customer=firm.customer)
    return Sample(
        firm=firm,
        contact=contact,
        product=product,
        product_distributor=f.ProductDistributorFactory(
            tenant=tenant, product=product, distributor=firm.distributor
        ),
        opportunity=opportunity,
        opportunity_product=f.OpportunityProductFactory(
            tenant=tenant, opportunity=opportunity, product=product
        ),
        opportunity_contact=f.OpportunityContactFactory(
            tenant=tenant, opportunity=opportunity, contact=contact
        ),
        interaction=f.InteractionFactory(
            tenant=tenant, organization=firm.principal_a, contact=contact, opportunity=opportunity
        ),
        sample=f.SampleLineFactory(
            tenant=tenant,
            interaction=f.SampleFactory(
                tenant=tenant,
                interaction=f.SampleInteractionFactory(
                    tenant=tenant, organization=firm.customer, principal=firm.principal_a, contact=None
                ),
            ).interaction,
            product=product,
        ).interaction.samples.get(),
        authorization=f.DistributorAuthorizationFactory(
            tenant=tenant, distributor=firm.distributor, principal=firm.principal_a
        ),
        customer_distributor=f.CustomerDistributorFactory(
            tenant=tenant, customer=firm.customer, distributor=firm.distributor
        ),
        tasks={
            user.pk: f.TaskFactory(
                tenant=tenant, assignee=user, organization=firm.customer, opportunity=opportunity
            )
            for user in (firm.admin, firm.manager, firm.other_manager, firm.viewer)
        },
        sales_fact=SalesFact.objects.create(
            tenant=tenant, distributor=firm.distributor, product=product, customer=firm.customer,
            principal_id=0, period_kind="week", period_start=dt.date(2026, 3, 2), cases=Decimal("12.5"),
        ),
        sales_unmatched=SalesUnmatched.objects.create(
            tenant=tenant, created_by=firm.manager, distributor=firm.distributor, product=product,
            ship_to_number="ST-9", ship_to_name="Corner Deli", period_kind="week",
            period_start=dt.date(2026, 3, 2), cases=Decimal(3),
            suggestions={"customers": [{"id": firm.customer.pk, "name": firm.customer.name, "score": 0.4}]},
        ),
        customer_alias=CustomerAlias.objects.create(
            tenant=tenant, distributor=firm.distributor, kind="ship_to_number", value="ST-1",
            customer=firm.customer,
        ),
        column_mapping=ColumnMapping.objects.create(
            tenant=tenant, distributor=firm.distributor, mapping={"Item #": "item_number", "Notes": None},
        ),
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------------
# Forms as the browser sends them.


class _FormReader(HTMLParser):
    """The successful controls of one <form>: what a browser would submit unchanged."""

    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._select_options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text: list[str] = []

    def _add(self, name: str | None, value: str) -> None:
        if name and "__prefix__" not in name:
            self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        if tag == "input":
            kind = a.get("type", "text")
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._add(a.get("name"), a.get("value") or "on")
                return
            self._add(a.get("name"), a.get("value", ""))
        elif tag == "select":
            self._select, self._select_options = a.get("name"), []
            self._multiple = "multiple" in a
        elif tag == "option" and self._select is not None:
            self._select_options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea":
            self._textarea, self._text = a.get("name"), []

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select is not None:
            chosen = [value for value, selected in self._select_options if selected]
            if not chosen and self._select_options and not self._multiple:
                chosen = [self._select_options[0][0]]
            for value in chosen:
                self._add(self._select, value)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            text = "".join(self._text)
            self._add(self._textarea, text[1:] if text.startswith("\n") else text)
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)


def form_data(response: Any, model: type[models.Model]) -> dict[str, Any]:
    assert response.status_code == 200, response.status_code
    reader = _FormReader(f"{model._meta.model_name}_form")
    reader.feed(response.content.decode())
    return {name: values if len(values) > 1 else values[0] for name, values in reader.data.items()}


def submit(client: Client, path: str, model: type[models.Model], **changes: Any) -> Any:
    """GET the form at `path`, change some fields, POST it back."""
    data = form_data(client.get(path), model)
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return client.post(path, data)


def add_inline_row(data: dict[str, Any], prefix: str, **fields: Any) -> None:
    """Fill one more row of the inline formset `prefix` (what "Add another" does in the browser)."""
    index = int(data[f"{prefix}-TOTAL_FORMS"])
    data[f"{prefix}-TOTAL_FORMS"] = str(index + 1)
    for name, value in fields.items():
        data[f"{prefix}-{index}-{name}"] = value


def form_errors(response: Any) -> dict[str, list[str]]:
    """Field errors of the main form (non-field errors under "__all__") and non-form errors of the
    inline formsets (under their prefix)."""
    assert response.status_code == 200, (response.status_code, response.get("Location"))
    form = response.context["adminform"].form
    errors = {name: [str(e) for e in errs] for name, errs in form.errors.items()}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        if formset.non_form_errors():
            errors[formset.prefix] = [str(e) for e in formset.non_form_errors()]
        for index, inline_form in enumerate(formset.forms):
            for name, errs in inline_form.errors.items():
                errors[f"{formset.prefix}-{index}-{name}"] = [str(e) for e in errs]
    return errors
