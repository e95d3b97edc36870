"""factory-boy factories. They write as the database owner (test set-up), never through RLS."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth.hashers import get_hasher, make_password
from django.utils import timezone

from contacts.models import Contact
from crm.models import Membership, PrincipalAssignment, Role, Tenant, User
from interactions.models import Interaction
from opportunities.models import (
    CLOSED_STAGES,
    DEFAULT_STAGE_PROBABILITIES,
    Opportunity,
    OpportunityContact,
    OpportunityProduct,
    Stage,
)
from organizations.models import (
    CustomerDistributor,
    DistributorAuthorization,
    Organization,
)
from products.models import Product, ProductDistributor
from samples.models import Sample, SampleLine
from tasks.models import Task


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Broker {n}")


TEST_PASSWORD = "pw-for-tests-1"
_hashed_passwords: dict[str, str] = {}


def hashed_test_password() -> str:
    """TEST_PASSWORD hashed by the first of the hashers in force (the tests' fast one, or a test's own),
    once per hasher: a user is then written in one INSERT, not an INSERT and an UPDATE."""
    hasher = get_hasher()
    algorithm = str(hasher.algorithm)
    if algorithm not in _hashed_passwords:
        _hashed_passwords[algorithm] = make_password(TEST_PASSWORD, hasher=hasher)
    return _hashed_passwords[algorithm]


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.LazyFunction(hashed_test_password)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.MANAGER


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Organization {n}")
    type = "customer"


class PrincipalFactory(OrganizationFactory):
    name = factory.Sequence(lambda n: f"Principal Foods {n}")
    type = "principal"


class DistributorFactory(OrganizationFactory):
    name = factory.Sequence(lambda n: f"Distributor {n}")
    type = "distributor"


class CustomerFactory(OrganizationFactory):
    name = factory.Sequence(lambda n: f"Bistro {n}")
    type = "customer"
    segment = "casual_dining"


class PrincipalAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PrincipalAssignment

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    principal = factory.SubFactory(PrincipalFactory, tenant=factory.SelfAttribute("..tenant"))


class DistributorAuthorizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DistributorAuthorization

    tenant = factory.SubFactory(TenantFactory)
    distributor = factory.SubFactory(DistributorFactory, tenant=factory.SelfAttribute("..tenant"))
    principal = factory.SubFactory(PrincipalFactory, tenant=factory.SelfAttribute("..tenant"))
    authorized_on = dt.date(2025, 1, 1)


class CustomerDistributorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerDistributor

    tenant = factory.SubFactory(TenantFactory)
    customer = factory.SubFactory(CustomerFactory, tenant=factory.SelfAttribute("..tenant"))
    distributor = factory.SubFactory(DistributorFactory, tenant=factory.SelfAttribute("..tenant"))


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    tenant = factory.SubFactory(TenantFactory)
    organization = factory.SubFactory(CustomerFactory, tenant=factory.SelfAttribute("..tenant"))
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"contact{n}@example.test")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    tenant = factory.SubFactory(TenantFactory)
    principal = factory.SubFactory(PrincipalFactory, tenant=factory.SelfAttribute("..tenant"))
    name = factory.Sequence(lambda n: f"Product {n}")
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    category = "frozen"
    list_price = Decimal("42.50")


class ProductDistributorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductDistributor

    tenant = factory.SubFactory(TenantFactory)
    product = factory.SubFactory(ProductFactory, tenant=factory.SelfAttribute("..tenant"))
    distributor = factory.SubFactory(DistributorFactory, tenant=factory.SelfAttribute("..tenant"))
    vendor_item_number = factory.Sequence(lambda n: f"V{n:06d}")


class OpportunityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Opportunity

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Placement {n}")
    principal = factory.SubFactory(PrincipalFactory, tenant=factory.SelfAttribute("..tenant"))
    customer = factory.SubFactory(CustomerFactory, tenant=factory.SelfAttribute("..tenant"))
    weekly_case_volume = Decimal("10")
    stage = Stage.NEW_LEAD
    # Closed stages have their fixed figure (the database refuses another, ADR 0032).
    probability = factory.LazyAttribute(
        lambda o: DEFAULT_STAGE_PROBABILITIES.get(o.stage, 50) if o.stage in CLOSED_STAGES else 50
    )


class OpportunityProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OpportunityProduct

    tenant = factory.SubFactory(TenantFactory)
    opportunity = factory.SubFactory(OpportunityFactory, tenant=factory.SelfAttribute("..tenant"))
    product = factory.SubFactory(
        ProductFactory,
        tenant=factory.SelfAttribute("..tenant"),
        principal=factory.SelfAttribute("..opportunity.principal"),
    )


class OpportunityContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OpportunityContact

    tenant = factory.SubFactory(TenantFactory)
    opportunity = factory.SubFactory(OpportunityFactory, tenant=factory.SelfAttribute("..tenant"))
    contact = factory.SubFactory(
        ContactFactory,
        tenant=factory.SelfAttribute("..tenant"),
        organization=factory.SelfAttribute("..opportunity.customer"),
    )


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    tenant = factory.SubFactory(TenantFactory)
    type = "call"
    occurred_at = factory.LazyFunction(timezone.now)
    subject = factory.Sequence(lambda n: f"Call about line review {n}")
    organization = factory.SubFactory(CustomerFactory, tenant=factory.SelfAttribute("..tenant"))


class SampleInteractionFactory(InteractionFactory):
    """A sample interaction of a principal (what a sample needs)."""

    type = "sample"
    subject = factory.Sequence(lambda n: f"Samples dropped off {n}")
    principal = factory.SubFactory(PrincipalFactory, tenant=factory.SelfAttribute("..tenant"))


class SampleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sample

    tenant = factory.SubFactory(TenantFactory)
    interaction = factory.SubFactory(SampleInteractionFactory, tenant=factory.SelfAttribute("..tenant"))


class SampleLineFactory(factory.django.DjangoModelFactory):
    """A line of a sample (made with it unless one is given)."""

    class Meta:
        model = SampleLine

    tenant = factory.SubFactory(TenantFactory)
    interaction = factory.LazyAttribute(
        lambda o: SampleFactory(tenant=o.tenant).interaction  # the line needs its interaction's sample
    )
    product = factory.SubFactory(
        ProductFactory,
        tenant=factory.SelfAttribute("..tenant"),
        principal=factory.SelfAttribute("..interaction.principal"),
    )
    quantity = Decimal("2")
    unit = "case"


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    tenant = factory.SubFactory(TenantFactory)
    title = factory.Sequence(lambda n: f"Call back about the line review {n}")
    assignee = factory.LazyAttribute(lambda o: MembershipFactory(tenant=o.tenant).user)
    due_on = factory.LazyFunction(timezone.localdate)
